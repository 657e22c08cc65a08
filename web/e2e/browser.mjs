// What the browser tests share: Debian's headless Chromium through playwright-core (which
// downloads no browser), named steps, and failure messages that say which step failed.

import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHATPLUG_CHROMIUM || "/usr/bin/chromium";

let step = "start";

export const log = (msg) => console.log(`[e2e] ${msg}`);

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

/// Runs one named step; a failure inside it is reported with the name.
export async function stage(name, fn) {
  step = name;
  log(name);
  return fn();
}

/// Opens a fresh browser profile, hands its page to `run`, closes everything, and exits
/// non-zero naming the failed step.
export async function runInBrowser(run) {
  try {
    check(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium (run \`bash .ci/setup\`)`);
    const profile = mkdtempSync(join(tmpdir(), "chatplug-e2e-"));
    let context;
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
        viewport: { width: 1280, height: 800 },
        locale: "zh-CN",
      });
      const page = context.pages()[0] || (await context.newPage());
      page.setDefaultTimeout(15000);
      await run(page);
    } finally {
      if (context) await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  } catch (e) {
    console.error(`[e2e] FAILED at step "${step}": ${e.message}`);
    process.exit(1);
  }
}
