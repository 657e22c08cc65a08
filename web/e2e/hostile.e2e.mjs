// The web page against hostile text: HTML and script in every place the page shows text
// that came from elsewhere must render as text. The server (started by
// crates/chatplug-cli/tests/web.rs) is configured so that hostile text reaches the page
// through its real paths:
//   - the reply: a rule-control rule answers the trigger query with hostile HTML;
//   - web-search knowledge: recorded Bing answers on 127.0.0.1 whose titles, snippets and
//     URLs (`javascript:`, `data:`) are hostile, and a calculation card that becomes the
//     reply and its grounding evidence;
//   - what the user types (query, knowledge, persona), echoed back by the server as the
//     session title, the knowledge list, the debug passages and the restored session;
//   - error messages: the server never puts request text into one, so this test answers
//     one chat request itself (playwright's route) with a hostile error JSON, and one with
//     a hostile event stream (deltas, then an `error` event).
// After every step: no script ran (every payload calls `f`, which records the call), no
// element was injected, no link leads to `javascript:`, no dialog opened and the page's
// Content-Security-Policy reported no violation (an injected handler it blocked counts).
//
//   node hostile.e2e.mjs BASE_URL SCREENSHOT.png
// Exits non-zero with a message naming the failed step.

import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { check, log, runInBrowser, stage } from "./browser.mjs";

const [baseArg, shotArg] = process.argv.slice(2);
if (!baseArg || !shotArg) {
  console.error("usage: node hostile.e2e.mjs BASE_URL SCREENSHOT.png");
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, "");
const screenshot = resolve(shotArg);

// Each payload calls f() if it ever runs. Kept equal to web.rs's copies.
const IMG = "<img src=x onerror=f()>";
const HOSTILE = `${IMG}<script>f()</script><svg onload=f()></svg><iframe srcdoc="<script>parent.f()</script>"></iframe>"'><b onmouseover=f()>b</b><a href="javascript:f()">a</a>`;
const RULE_TRIGGER = "攻击测试";
const RULE_REPLY = `${HOSTILE}回复`;
const SEARCH_QUERY = "星河镇在哪里？";
const CARD_QUERY = "1加1等于多少？";

// Installed before the page's own script: the payloads' target, the CSP reports.
function instrument() {
  window.__ran = [];
  window.f = () => window.__ran.push(new Error().stack || "f");
  window.__violations = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(`${e.violatedDirective}: ${e.sample || e.blockedURI}`));
}

// Everything in the page that a payload would have produced.
function findInjections() {
  const found = [];
  for (const e of document.body.querySelectorAll("script, img, svg, iframe, frame, object, embed, video, audio, b, math, base, link, meta, style")) {
    found.push(`<${e.tagName.toLowerCase()}> in ${e.parentElement && (e.parentElement.dataset.testid || e.parentElement.className || e.parentElement.tagName)}`);
  }
  for (const e of document.querySelectorAll("*")) {
    for (const a of e.attributes) if (/^on/i.test(a.name)) found.push(`${e.tagName.toLowerCase()}[${a.name}]`);
  }
  for (const a of document.querySelectorAll("a[href]")) {
    if (!/^https?:$/.test(new URL(a.href, location.href).protocol)) found.push(`link to ${a.getAttribute("href")}`);
  }
  if (document.scripts.length !== 1) found.push(`${document.scripts.length} script elements (the page has 1)`);
  return { found, ran: window.__ran.length, violations: window.__violations };
}

async function assertInert(page, dialogs, where) {
  const r = await page.evaluate(findInjections);
  check(r.ran === 0, `${where}: a payload ran (${r.ran} calls of f)`);
  check(r.found.length === 0, `${where}: injected: ${r.found.join("; ")}`);
  check(r.violations.length === 0, `${where}: Content-Security-Policy violations: ${r.violations.join("; ")}`);
  check(dialogs.length === 0, `${where}: dialogs opened: ${dialogs.join("; ")}`);
}

async function texts(page, testId) {
  return page.getByTestId(testId).allTextContents();
}

// Sends a message and waits until its reply is done or failed.
async function send(page, query, botIndex) {
  await page.getByTestId("query").fill(query);
  await page.getByTestId("send").click();
  await page.waitForFunction(
    (i) => {
      const b = document.querySelectorAll('[data-testid="message-bot"]')[i];
      return b && (b.dataset.state === "done" || b.dataset.state === "error");
    },
    botIndex,
    { timeout: 120000 },
  );
}

async function run(page) {
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  await page.addInitScript(instrument);

  await stage("load the page; it is served with a Content-Security-Policy", async () => {
    const res = await page.goto(base + "/");
    check(res && res.ok(), `GET / answered ${res && res.status()}`);
    const csp = (await res.allHeaders())["content-security-policy"] || "";
    check(/script-src 'self'/.test(csp), `Content-Security-Policy of the page: ${JSON.stringify(csp)}`);
    await page.waitForSelector("body[data-ready=true]", { timeout: 10000 });
    await assertInert(page, dialogs, "the fresh page");
  });

  await stage("hostile persona, knowledge and debug output", async () => {
    await page.getByTestId("edit-persona").click();
    await page.getByTestId("bot-profile").fill(`我叫${HOSTILE}`);
    await page.getByTestId("user-profile").fill(`我是${IMG}`);
    await page.getByTestId("role-instruction").fill(`请用${IMG}的语气回答`);
    await page.getByTestId("knowledge-input").fill(`${RULE_REPLY}\n<script>f()</script>星河镇位于青川湖北岸。`);
    await page.getByTestId("debug-toggle").check();
    const summary = await page.locator("#persona-summary").textContent();
    check(summary.includes(IMG), `the persona summary does not show the bot profile as text: ${JSON.stringify(summary)}`);
    await assertInert(page, dialogs, "hostile persona typed");
  });

  await stage("a rule answers with hostile HTML: the reply shows it as text", async () => {
    await send(page, `${IMG}${RULE_TRIGGER}`, 0);
    await assertInert(page, dialogs, "the rule's reply");
    const bot = (await texts(page, "bot-text"))[0];
    check(bot === RULE_REPLY, `the reply bubble shows ${JSON.stringify(bot)}, expected the rule's reply as text`);
    const user = (await texts(page, "user-text"))[0];
    check(user.includes(IMG), `the user's message is not shown as text: ${JSON.stringify(user)}`);
  });

  await stage("the knowledge list and the session title", async () => {
    const items = await texts(page, "knowledge-item");
    check(items.some((t) => t.includes(RULE_REPLY)), `the typed knowledge is not listed as text: ${JSON.stringify(items)}`);
    const sessions = await texts(page, "session-item");
    check(sessions.some((t) => t.includes(IMG)), `the session title is not shown as text: ${JSON.stringify(sessions)}`);
    await assertInert(page, dialogs, "panels after the rule's reply");
  });

  await stage("web search results with hostile titles, snippets and javascript: URLs; the debug passages", async () => {
    await send(page, SEARCH_QUERY, 1);
    await assertInert(page, dialogs, "the search results");
    const items = page.getByTestId("knowledge-item");
    const all = await items.allTextContents();
    const web = all.filter((t) => t.includes("搜索结果"));
    check(web.length >= 2, `the search results are not listed: ${JSON.stringify(all)}`);
    check(web.some((t) => t.includes(IMG) && t.includes("<script>f()</script>")), `a result's hostile title or text is not shown as text: ${JSON.stringify(web)}`);
    const hrefs = await page.locator('[data-testid="knowledge-item"] a').evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    check(hrefs.includes("https://example.cn/safe"), `the http(s) result lost its link: ${JSON.stringify(hrefs)}`);
    // The model's passages: persona, typed knowledge and search results, all hostile.
    const passages = await page.getByTestId("debug-passages").locator("li").allTextContents();
    check(passages.some((p) => p.includes(IMG)), `no debug passage shows the hostile text: ${JSON.stringify(passages)}`);
    const json = await page.locator("#debug-content pre").textContent();
    check(json.includes("onerror=f()"), "the debug JSON does not show the hostile text");
  });

  await stage("a search card answers: the reply and its grounding evidence show it as text", async () => {
    await send(page, CARD_QUERY, 2);
    await assertInert(page, dialogs, "the card's reply and evidence");
    const bot = (await texts(page, "bot-text"))[2];
    check(bot.includes(IMG) && bot.includes("卡片"), `the card's reply shows ${JSON.stringify(bot)}`);
    const evidence = await texts(page, "evidence-card");
    check(evidence.length === 1 && evidence[0].includes(`${HOSTILE}卡片`), `grounding evidence shown: ${JSON.stringify(evidence)}`);
  });

  await stage("reload: the restored session, persona and titles stay text", async () => {
    await page.reload();
    await page.waitForSelector("body[data-ready=true]", { timeout: 10000 });
    await page.getByTestId("message-bot").first().waitFor({ timeout: 10000 });
    await assertInert(page, dialogs, "the restored session");
    const bots = await texts(page, "bot-text");
    check(bots[0] === RULE_REPLY, `the restored reply: ${JSON.stringify(bots[0])}`);
    check((await page.getByTestId("bot-profile").inputValue()) === `我叫${HOSTILE}`, "the restored bot profile differs");
    check((await page.locator("#persona-summary").textContent()).includes(IMG), "the restored persona summary does not show the text");
  });

  await stage("a hostile error message, type and code are shown as text", async () => {
    await page.route("**/v1/chat", (route) =>
      route.fulfill({ status: 400, contentType: "application/json", body: JSON.stringify({ error: { message: HOSTILE, type: IMG, code: IMG } }) }),
    );
    await send(page, "你好", 3);
    await assertInert(page, dialogs, "the error banner");
    const error = await page.getByTestId("error").textContent();
    check(error.includes(HOSTILE) && error.includes(`(${IMG} / ${IMG})`), `the error banner shows ${JSON.stringify(error)}`);
    await page.unroute("**/v1/chat");
  });

  await stage("a hostile stream: deltas, then an error event", async () => {
    const events = [
      `event: delta\ndata: ${JSON.stringify({ text: IMG })}\n\n`,
      `event: delta\ndata: ${JSON.stringify({ text: "<script>f()</script>" })}\n\n`,
      `event: error\ndata: ${JSON.stringify({ error: { message: HOSTILE, type: "internal_error" } })}\n\n`,
    ];
    await page.route("**/v1/chat", (route) => route.fulfill({ status: 200, contentType: "text/event-stream", body: events.join("") }));
    const count = await page.getByTestId("message-bot").count();
    await send(page, "再说一遍", count);
    await assertInert(page, dialogs, "the hostile stream");
    const bot = (await texts(page, "bot-text"))[count];
    check(bot === `${IMG}<script>f()</script>`, `the streamed reply shows ${JSON.stringify(bot)}`);
    check((await page.getByTestId("error").textContent()).includes(HOSTILE), "the stream's error is not shown as text");
    await page.unroute("**/v1/chat");
  });

  await stage(`save a screenshot to ${screenshot}`, async () => {
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot });
  });
}

await runInBrowser(run);
log(`passed; screenshot at ${screenshot}`);
