// End-to-end test of the chatplug web page: drives Debian's Chromium (headless, through
// playwright-core, which downloads no browser) against a running `chatplug serve`.
//
//   node chat.e2e.mjs BASE_URL SCREENSHOT.png [API_KEY]
//
// With API_KEY (the server requires one), the page is first seen failing with 401 and
// the key is then entered in its settings.
// Exits non-zero with a message naming the failed step.

import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { check, log, runInBrowser, stage } from "./browser.mjs";

const REPLY_TIMEOUT_MS = Number(process.env.CHATPLUG_E2E_REPLY_TIMEOUT_MS || 120000);
const KNOWLEDGE = "关羽，字云长，河东郡解县人，东汉末年名将。";
const FIRST_QUERY = "你好，今天想聊点什么？";
const SECOND_QUERY = "给我讲讲关羽吧";

const [baseArg, shotArg, apiKey] = process.argv.slice(2);
if (!baseArg || !shotArg) {
  console.error("usage: node chat.e2e.mjs BASE_URL SCREENSHOT.png [API_KEY]");
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, "");
const screenshot = resolve(shotArg);

// Records, from inside the page, how the newest bot message changes: its state and its
// text length at every DOM mutation. Lets the test see deltas arriving before `done`.
function watchNewestReply() {
  window.__replyTrace = [];
  const observer = new MutationObserver(() => {
    const bots = document.querySelectorAll('[data-testid="message-bot"]');
    const bot = bots[bots.length - 1];
    if (!bot) return;
    const text = bot.querySelector('[data-testid="bot-text"]').textContent;
    const last = window.__replyTrace[window.__replyTrace.length - 1];
    const entry = { state: bot.dataset.state, length: text.length, count: bots.length };
    if (!last || last.state !== entry.state || last.length !== entry.length || last.count !== entry.count) {
      window.__replyTrace.push(entry);
    }
  });
  observer.observe(document.getElementById("messages"), { subtree: true, childList: true, characterData: true, attributes: true });
}

// Sends `query` and waits for its reply; returns the final reply text.
async function chatTurn(page, query, botIndex) {
  await page.evaluate(watchNewestReply);
  await page.getByTestId("query").fill(query);
  await page.getByTestId("send").click();
  const bot = page.getByTestId("message-bot").nth(botIndex);
  await bot.waitFor({ timeout: 10000 });
  await page.waitForFunction(
    (i) => {
      const b = document.querySelectorAll('[data-testid="message-bot"]')[i];
      return b && (b.dataset.state === "done" || b.dataset.state === "error");
    },
    botIndex,
    { timeout: REPLY_TIMEOUT_MS },
  );
  if ((await bot.getAttribute("data-state")) === "error") {
    const error = (await page.getByTestId("error").textContent()) || "";
    throw new Error(`the reply failed; the page shows: ${error.replace(/×\s*$/, "").trim()}`);
  }
  // Only the entries of this reply's bubble (the newest once it exists).
  const trace = await page.evaluate((n) => window.__replyTrace.filter((e) => e.count === n), botIndex + 1);
  const firstDone = trace.findIndex((e) => e.state === "done");
  const streamedBeforeDone = trace.slice(0, firstDone).filter((e) => e.state === "streaming" && e.length > 0);
  check(firstDone >= 0, `no 'done' state observed for the reply (trace ${JSON.stringify(trace)})`);
  check(streamedBeforeDone.length > 0, `no streamed text appeared before the reply was done (trace ${JSON.stringify(trace)})`);
  const text = (await bot.getByTestId("bot-text").textContent()) || "";
  check(text.trim().length > 0, "the reply bubble is empty");
  log(`  reply (${streamedBeforeDone.length} streamed updates before done): ${JSON.stringify(text)}`);
  return text;
}

async function run(page) {
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => m.type() === "error" && pageErrors.push(`${m.text()} (${m.location().url})`));

  await stage("load the page", async () => {
    const res = await page.goto(base + "/");
    check(res && res.ok(), `GET / answered ${res && res.status()}`);
    await page.waitForSelector("body[data-ready=true]", { timeout: 10000 });
    check((await page.title()).includes("ChatPLUG"), "page title lacks ChatPLUG");
  });

  if (apiKey) {
    await stage("without the API key the page shows the server's 401 error; enter the key", async () => {
      const error = page.getByTestId("error");
      await error.waitFor({ timeout: 10000 });
      const text = await error.textContent();
      check(text.includes("401") && text.includes("authentication_error"), `error shown without a key: ${JSON.stringify(text)}`);
      await page.getByTestId("open-settings").click();
      await page.getByTestId("api-key").fill(apiKey);
      await page.getByTestId("close-settings").click();
      await error.waitFor({ state: "hidden", timeout: 10000 });
      pageErrors.length = 0; // the expected 401 was logged as a failed resource load
    });
  }

  await stage("the examples fill the message, the knowledge and the persona", async () => {
    const examples = page.getByTestId("example");
    check((await examples.count()) >= 3, `examples shown: ${await examples.count()}`);
    await examples.nth(0).click();
    check((await page.getByTestId("query").inputValue()).length > 0, "the knowledge example left the message box empty");
    check((await page.getByTestId("knowledge-input").inputValue()).length > 0, "the knowledge example gave no knowledge");
    await examples.nth(1).click();
    check((await page.getByTestId("knowledge-input").inputValue()) === "", "the persona example kept the knowledge");
    check((await page.getByTestId("persona-preset").inputValue()) === "baker", "the persona example did not pick its preset");
    await page.getByTestId("query").fill("");
  });

  await stage("pick the cheerful-student persona preset", async () => {
    await page.getByTestId("persona-preset").selectOption("student");
    await page.getByTestId("edit-persona").click();
    const bot = await page.getByTestId("bot-profile").inputValue();
    check(bot.includes("大学生"), `bot profile after picking the preset: ${JSON.stringify(bot)}`);
  });

  await stage("short generation, debug on, knowledge given", async () => {
    await page.getByTestId("open-settings").click();
    await page.getByTestId("max-new-tokens").fill("16");
    await page.getByTestId("num-beams").fill("1");
    await page.getByTestId("open-settings").click();
    await page.getByTestId("debug-toggle").check();
    await page.getByTestId("knowledge-input").fill(KNOWLEDGE);
    await page.getByTestId("edit-persona").click();
  });

  const firstReply = await stage("send a message and wait for the streamed reply", () => chatTurn(page, FIRST_QUERY, 0));

  const sessionId = await stage("the session list shows the new session", async () => {
    const id = await page.evaluate(() => localStorage.getItem("chatplug.session"));
    check(id, "no current session id stored after the first reply");
    const item = page.locator(`[data-testid="session-item"][data-session-id="${id}"]`);
    await item.waitFor({ timeout: 10000 });
    check((await item.textContent()).includes(FIRST_QUERY.slice(0, 6)), "the session's title is not the first message");
    return id;
  });

  await stage("the knowledge panel shows the reply's knowledge", async () => {
    const items = page.getByTestId("knowledge-item");
    check((await items.count()) > 0, "no knowledge items shown for the reply");
    check((await items.allTextContents()).some((t) => t.includes(KNOWLEDGE)), "the given knowledge is not in the panel");
  });

  await stage("the debug panel shows the model's passages", async () => {
    const passages = await page.getByTestId("debug-passages").locator("li").allTextContents();
    check(passages.length > 0, "no passages in the debug panel");
    check(passages.some((p) => p.includes(KNOWLEDGE)), `no passage carries the knowledge: ${JSON.stringify(passages)}`);
  });

  await stage("reload: the conversation is restored from the server", async () => {
    await page.reload();
    await page.waitForSelector("body[data-ready=true]", { timeout: 10000 });
    await page.getByTestId("message-bot").first().waitFor({ timeout: 10000 });
    const users = await page.getByTestId("user-text").allTextContents();
    const bots = await page.getByTestId("bot-text").allTextContents();
    check(users.length === 1 && users[0] === FIRST_QUERY, `restored user turns: ${JSON.stringify(users)}`);
    check(bots.length === 1 && bots[0] === firstReply, `restored bot turns ${JSON.stringify(bots)}, expected [${JSON.stringify(firstReply)}]`);
    const bot = await page.getByTestId("bot-profile").inputValue();
    check(bot.includes("大学生"), "the session's persona was not restored");
  });

  await stage("continue the restored session", async () => {
    const listed = () => page.getByTestId("session-item").evaluateAll((els) => els.map((e) => e.dataset.sessionId));
    // The list is fetched on its own after the reload: wait for it before counting, or a
    // fast restore leaves it empty here (seen once in CI: before = []).
    await page.locator(`[data-testid="session-item"][data-session-id="${sessionId}"]`).waitFor({ timeout: 10000 });
    const before = await listed();
    await chatTurn(page, SECOND_QUERY, 1);
    const ids = await listed();
    check(ids.length === before.length && ids[0] === sessionId, `sessions listed after the second turn: ${JSON.stringify(ids)}, before: ${JSON.stringify(before)} (expected the same, ${sessionId} first)`);
    const items = await page.getByTestId("knowledge-item").allTextContents();
    check(items.some((t) => t.includes(KNOWLEDGE)), "the second reply's knowledge is not in the panel");
  });

  await stage("no placeholder values leaked into the visible page", async () => {
    const leaks = await page.evaluate(() => document.body.innerText.match(/\b(null|undefined|NaN)\b|\[object Object\]/g));
    check(!leaks, `the page shows ${JSON.stringify(leaks)}`);
  });

  await stage(`save a screenshot to ${screenshot}`, async () => {
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot });
  });

  await stage("a new conversation is a second session; switching back restores the first", async () => {
    await page.getByTestId("new-session").click();
    check((await page.getByTestId("message-bot").count()) === 0, "a new conversation still shows old messages");
    await page.getByTestId("persona-preset").selectOption("monk");
    await chatTurn(page, "师父，什么是禅？", 0);
    const ids = await page.getByTestId("session-item").evaluateAll((els) => els.map((e) => e.dataset.sessionId));
    check(ids.length === 2 && ids[1] === sessionId && ids[0] !== sessionId, `sessions after a new conversation: ${JSON.stringify(ids)}`);
    await page.locator(`[data-testid="session-item"][data-session-id="${sessionId}"] .session-open`).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="message-user"]').length === 2, null, { timeout: 10000 });
    const users = await page.getByTestId("user-text").allTextContents();
    check(users[0] === FIRST_QUERY && users[1] === SECOND_QUERY, `turns after switching back: ${JSON.stringify(users)}`);
    check((await page.getByTestId("bot-profile").inputValue()).includes("大学生"), "switching back did not restore the session's persona");
  });

  await stage("delete the session", async () => {
    await page.locator(`[data-testid="session-item"][data-session-id="${sessionId}"] [data-testid="session-delete"]`).click();
    await page.locator(`[data-testid="session-item"][data-session-id="${sessionId}"]`).waitFor({ state: "detached", timeout: 10000 });
    check((await page.getByTestId("message-bot").count()) === 0, "the deleted session's messages are still shown");
    const res = await page.request.get(`${base}/v1/sessions/${sessionId}`, { headers: apiKey ? { Authorization: `Bearer ${apiKey}` } : {} });
    check(res.status() === 404, `GET of the deleted session answered ${res.status()}`);
  });

  check(pageErrors.length === 0, `the page logged errors: ${pageErrors.join(" | ")}`);
}

await runInBrowser(run);
log(`passed; screenshot at ${screenshot}`);
