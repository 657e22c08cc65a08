// ChatPLUG web chat page: sessions, persona presets, streaming replies over the native
// `POST /v1/chat` API (server-sent events), retrieved knowledge and grounding evidence.
// Vanilla ES module, no build step: the server embeds this file in its binary.

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------
// Persona presets. First the demo model's kind of persona (models/chatplug-demo was
// trained on bot profiles of `;`-separated first-person facts: name, city, job, age,
// hobby, favourite food, character); then the reference demo's characters, written as
// ChatPLUG bot profiles, which need a large model such as ChatPLUG-3.7B.

const PRESETS = [
  { id: "none", name: "默认（无人设）", bot_profile: "", user_profile: "", role_instruction: "" },
  {
    id: "baker",
    name: "林小满 · 杭州的面包师",
    bot_profile: "我叫林小满;我住在杭州;我是面包师;我今年28岁;我的爱好是爬山;我最喜欢的食物是小笼包;我性格开朗",
    user_profile: "",
    role_instruction: "",
  },
  {
    id: "teacher",
    name: "周远 · 成都的中学老师",
    bot_profile: "我叫周远;我住在成都;我是中学老师;我今年45岁;我平时爱下象棋;我最喜欢的食物是火锅;我是个耐心的人",
    user_profile: "",
    role_instruction: "",
  },
  {
    id: "student",
    name: "小婉 · 爱用表情的大学生",
    bot_profile: "我叫小婉，是一名21岁的大学生。我性格开朗活泼，爱笑，喜欢交朋友，聊天时喜欢用表情符号😊✨。",
    user_profile: "你是我的学长。",
    role_instruction: "请用活泼可爱的语气回答，多多使用emoji表情。",
  },
  {
    id: "monk",
    name: "慧明 · 得道高僧",
    bot_profile: "我是一位修行多年的得道高僧，法号慧明。我心境平和，富有智慧，常以佛理开导前来求教的人。",
    user_profile: "",
    role_instruction: "请用平和、富有禅意的语气回答，适当引用佛家的道理。",
  },
  {
    id: "guanyu",
    name: "关羽 · 三国名将",
    bot_profile: "我是关羽，字云长，河东解良人，蜀汉五虎上将之首。我忠义勇武，与刘备、张飞桃园结义。",
    user_profile: "",
    role_instruction: "请用古文（文言文）的风格回答，自称关某。",
  },
];
const CUSTOM = "custom";

// Examples of what the demo model does: answer from the knowledge it is given (the
// 附加知识 box), stay in character, remember what the user said earlier. A click fills
// the message box (and the knowledge or persona); the user sends it.
const EXAMPLES = [
  {
    label: "知识问答",
    knowledge: "星河镇位于青川湖北岸，以出产蓝莓闻名。星河镇每年八月举办蓝莓节。\n青川湖是一个淡水湖，湖边有一座灯塔。",
    query: "星河镇的蓝莓节在几月？",
  },
  { label: "人设", preset: "baker", knowledge: "", query: "你是做什么工作的？" },
  { label: "告诉它一件事", knowledge: "", query: "我养的猫叫团子。" },
  { label: "它还记得吗", knowledge: "", query: "你还记得我的猫叫什么吗？" },
];
const PERSONA_FIELDS = ["bot_profile", "user_profile", "role_instruction"];
const FIELD_INPUT = { bot_profile: "bot-profile", user_profile: "user-profile", role_instruction: "role-instruction" };

// ---------------------------------------------------------------------------
// Browser storage: API key, current session, settings.

const store = {
  get: (k) => localStorage.getItem("chatplug." + k) || "",
  set: (k, v) => (v ? localStorage.setItem("chatplug." + k, v) : localStorage.removeItem("chatplug." + k)),
};

const state = {
  sessionId: store.get("session"),
  messages: [], // {role, text, knowledge, evidence, debug, responseType, el}
  selected: null,
  busy: false,
};

// ---------------------------------------------------------------------------
// HTTP: the contract's error JSON becomes an ApiError.

class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.type = error.type || "";
    this.code = error.code ?? null;
  }
}

function headers(json) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  const key = store.get("apiKey");
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function errorFrom(res) {
  let error = { message: `HTTP ${res.status} ${res.statusText}`, type: "http_error" };
  try {
    const body = await res.json();
    if (body && body.error) error = body.error;
  } catch (_) {
    // Not the contract's JSON (a proxy page, say): keep the status line.
  }
  return new ApiError(res.status, error);
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw await errorFrom(res);
  return res.status === 204 ? null : res.json();
}

// Reads a `text/event-stream` body, calling onEvent(name, parsedData) per event.
async function readEvents(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const flush = (block) => {
    let name = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) onEvent(name, JSON.parse(data.join("\n")));
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      flush(block);
    }
  }
  if (buffer.trim()) flush(buffer);
}

// Streams one reply: onDelta(text) per `delta`; resolves with the `done` object.
async function streamChat(body, onDelta) {
  const res = await fetch("/v1/chat", { method: "POST", headers: headers(true), body: JSON.stringify({ ...body, stream: true }) });
  if (!res.ok) throw await errorFrom(res);
  let result = null;
  let failure = null;
  await readEvents(res, (name, data) => {
    if (name === "delta") onDelta(data.text || "");
    else if (name === "done") result = data;
    // A failure after the 200 header has no status of its own; its type says what it was.
    else if (name === "error") failure = new ApiError(0, data.error || { message: "生成失败" });
  });
  if (failure) throw failure;
  if (!result) throw new ApiError(0, { message: "回复流意外中断（没有收到 done 事件）", type: "stream_error" });
  return result;
}

// ---------------------------------------------------------------------------
// Small DOM helpers.

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function showError(err) {
  const box = $("error");
  if (!err) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  const kind = err.type ? `${err.type}${err.code ? " / " + err.code : ""}` : "";
  box.replaceChildren(
    el("span", { class: "error-text" },
      el("strong", {}, err.status ? `错误 ${err.status}` : "错误"),
      " ",
      err.message,
      kind ? el("span", { class: "error-kind" }, ` (${kind})`) : null,
      err.status === 401 ? " · 请在“设置”中填写 API Key。" : null),
    el("button", { type: "button", class: "icon-btn", "aria-label": "关闭错误提示", onclick: () => showError(null) }, "×"),
  );
  box.hidden = false;
}

function toggleHidden(panelId, button) {
  const panel = $(panelId);
  panel.hidden = !panel.hidden;
  if (button) button.setAttribute("aria-expanded", String(!panel.hidden));
}

// ---------------------------------------------------------------------------
// Persona: preset select + editor fields.

function personaValues() {
  const v = {};
  for (const f of PERSONA_FIELDS) v[f] = $(FIELD_INPUT[f]).value.trim();
  return v;
}

function setPersona(values) {
  for (const f of PERSONA_FIELDS) $(FIELD_INPUT[f]).value = values[f] || "";
  const match = PRESETS.find((p) => PERSONA_FIELDS.every((f) => (p[f] || "") === (values[f] || "")));
  $("persona-preset").value = match ? match.id : CUSTOM;
  updatePersonaSummary();
}

function updatePersonaSummary() {
  const bot = $("bot-profile").value.trim();
  $("persona-summary").textContent = bot ? bot.slice(0, 40) + (bot.length > 40 ? "…" : "") : "";
  store.set("persona", JSON.stringify(personaValues()));
}

function initPersona() {
  const select = $("persona-preset");
  for (const p of PRESETS) select.append(el("option", { value: p.id }, p.name));
  select.append(el("option", { value: CUSTOM }, "自定义…"));
  select.addEventListener("change", () => {
    const preset = PRESETS.find((p) => p.id === select.value);
    if (preset) setPersona(preset);
    else if ($("persona-editor").hidden) toggleHidden("persona-editor", $("edit-persona"));
  });
  for (const f of PERSONA_FIELDS) {
    $(FIELD_INPUT[f]).addEventListener("input", () => {
      select.value = CUSTOM;
      updatePersonaSummary();
    });
  }
  let saved = {};
  try {
    saved = JSON.parse(store.get("persona") || "{}");
  } catch (_) {
    // A corrupt entry just means no saved persona.
  }
  setPersona(saved);
  $("edit-persona").addEventListener("click", () => toggleHidden("persona-editor", $("edit-persona")));
}

// ---------------------------------------------------------------------------
// Conversation view.

function renderMessage(msg) {
  const isBot = msg.role === "bot";
  const bubble = el("div", { class: "bubble", "data-testid": isBot ? "bot-text" : "user-text" });
  bubble.textContent = msg.text;
  const meta = el("div", { class: "meta" });
  const node = el(
    "article",
    {
      class: `message ${msg.role}`,
      "data-testid": isBot ? "message-bot" : "message-user",
      "aria-label": isBot ? "回复" : "我的消息",
      tabindex: isBot ? "0" : undefined,
    },
    el("div", { class: "avatar", "aria-hidden": "true" }, isBot ? "AI" : "我"),
    el("div", { class: "body" }, bubble, meta),
  );
  if (isBot) {
    node.addEventListener("click", () => selectMessage(msg));
    node.addEventListener("keydown", (e) => e.key === "Enter" && selectMessage(msg));
  }
  msg.el = node;
  msg.bubble = bubble;
  msg.meta = meta;
  updateMeta(msg);
  return node;
}

function updateMeta(msg) {
  if (msg.role !== "bot") return;
  const parts = [];
  if (msg.state === "streaming") parts.push(el("span", { class: "typing", "aria-label": "正在生成" }, el("i"), el("i"), el("i")));
  if (msg.responseType) parts.push(el("span", { class: "tag" }, msg.responseType));
  if (msg.knowledge && msg.knowledge.length) parts.push(el("span", { class: "tag knowledge-tag" }, `知识 ${msg.knowledge.length}`));
  if (msg.evidence) parts.push(el("span", { class: "tag evidence-tag" }, "有依据"));
  if (msg.usage) parts.push(el("span", { class: "muted" }, `${msg.usage.completion_tokens} tokens`));
  msg.meta.replaceChildren(...parts);
  msg.el.dataset.state = msg.state || "done";
}

function renderConversation() {
  const box = $("messages");
  box.replaceChildren();
  if (!state.messages.length) box.append(welcome);
  for (const m of state.messages) box.append(renderMessage(m));
  box.scrollTop = box.scrollHeight;
  selectMessage([...state.messages].reverse().find((m) => m.role === "bot") || null);
}

function addMessage(msg) {
  if (!state.messages.length) $("messages").replaceChildren();
  state.messages.push(msg);
  $("messages").append(renderMessage(msg));
  scrollToEnd();
  return msg;
}

function scrollToEnd() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

// ---------------------------------------------------------------------------
// Knowledge and grounding evidence panel.

function selectMessage(msg) {
  if (state.selected && state.selected.el) state.selected.el.classList.remove("selected");
  state.selected = msg;
  if (msg && msg.el) msg.el.classList.add("selected");
  renderKnowledge(msg);
  renderDebug(msg);
}

function renderKnowledge(msg) {
  const list = $("knowledge-list");
  const evidenceBox = $("evidence");
  list.replaceChildren();
  evidenceBox.replaceChildren();
  $("knowledge-for").textContent = msg ? "· 当前选中的回复" : "";
  const knowledge = (msg && msg.knowledge) || [];
  const evidence = msg && msg.evidence;
  if (evidence) {
    evidenceBox.append(
      el("div", { class: "evidence-card", "data-testid": "evidence-card" },
        el("div", { class: "evidence-head" }, "✔ 回复依据 grounding evidence",
          el("span", { class: "muted" }, ` 来源 ${evidence.source} · ROUGE-L ${Number(evidence.score).toFixed(2)}`)),
        el("mark", {}, evidence.text)),
    );
  }
  knowledge.forEach((k) => {
    const grounded = evidence && (k.text === evidence.text || k.text.includes(evidence.text) || evidence.text.includes(k.text));
    // Links only to web pages: a knowledge source must not inject `javascript:` URLs.
    const safeUrl = /^https?:\/\//i.test(k.url || "") ? k.url : null;
    const title = k.title ? (safeUrl ? el("a", { href: safeUrl, target: "_blank", rel: "noopener noreferrer" }, k.title) : el("strong", {}, k.title)) : null;
    list.append(
      el("li", { class: grounded ? "knowledge grounded" : "knowledge", "data-testid": "knowledge-item" },
        el("div", { class: "knowledge-head" }, el("span", { class: "tag" }, k.source || "知识"), title, grounded ? el("span", { class: "tag evidence-tag" }, "依据") : null),
        grounded ? el("mark", {}, k.text) : el("span", {}, k.text)),
    );
  });
  let note = "选中一条回复以查看它参考的知识。";
  if (msg && msg.restored) note = "从服务器恢复的历史回复不保存知识；新回复会显示在这里。";
  else if (msg) note = knowledge.length ? "" : "这条回复没有参考任何知识。";
  if (msg && !evidence && knowledge.length) note = "没有找到足够相似的依据（ROUGE-L 精确率 ≤ 0.7）。";
  $("knowledge-empty").textContent = note;
  $("knowledge-empty").hidden = !note;
}

function renderDebug(msg) {
  const panel = $("debug-panel");
  panel.hidden = !$("debug-toggle").checked;
  const box = $("debug-content");
  box.replaceChildren();
  const debug = msg && msg.debug;
  if (!debug) {
    box.append(el("p", { class: "muted" }, "开启调试后发送消息，这里会显示模型输入段落 (passages) 和各阶段耗时。"));
    return;
  }
  // Slowest stages first; the many near-zero ones on one line.
  const timings = Object.entries(debug.timings_ms || {}).filter(([, v]) => typeof v === "number").sort((a, b) => b[1] - a[1]);
  const slow = timings.filter(([, v]) => v >= 0.1);
  const fast = timings.filter(([, v]) => v < 0.1).map(([k]) => k);
  const rows = slow.map(([k, v]) => el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, v.toFixed(1))));
  if (timings.length) {
    box.append(el("h3", {}, "耗时 timings (ms)"), el("table", { class: "timings", "data-testid": "debug-timings" }, el("tbody", {}, rows)));
    if (fast.length) box.append(el("p", { class: "muted small" }, `< 0.1 ms: ${fast.join(", ")}`));
  }
  const passages = debug.passages || [];
  box.append(el("h3", {}, `模型输入段落 passages (${passages.length})`), el("ol", { class: "passages", "data-testid": "debug-passages" }, passages.map((p) => el("li", {}, p))));
  box.append(el("details", {}, el("summary", {}, "完整 debug JSON"), el("pre", {}, JSON.stringify(debug, null, 2))));
}

// ---------------------------------------------------------------------------
// Sessions.

function formatTime(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleString("zh-CN", { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

async function refreshSessions() {
  let sessions = [];
  try {
    sessions = (await api("GET", "/v1/sessions")).sessions || [];
  } catch (err) {
    showError(err);
  }
  const list = $("session-list");
  list.replaceChildren(
    ...sessions.map((s) =>
      el("li", { class: s.id === state.sessionId ? "session current" : "session", "data-testid": "session-item", "data-session-id": s.id },
        el("button", { type: "button", class: "session-open", "aria-current": s.id === state.sessionId ? "true" : undefined, onclick: () => openSession(s.id) },
          el("span", { class: "session-title" }, s.title || "未命名会话"),
          el("span", { class: "session-meta muted" }, `${s.turn_count} 条 · ${formatTime(s.updated_at)}`)),
        el("button", { type: "button", class: "icon-btn danger", "aria-label": `删除会话 ${s.title || s.id}`, "data-testid": "session-delete", onclick: () => deleteSession(s.id) }, "✕")),
    ),
  );
  $("no-sessions").hidden = sessions.length > 0;
}

function setSession(id) {
  state.sessionId = id || "";
  store.set("session", state.sessionId);
}

// `restoring`: the id came from localStorage; a session deleted meanwhile is no error.
async function openSession(id, restoring = false) {
  showError(null);
  try {
    const s = await api("GET", `/v1/sessions/${encodeURIComponent(id)}`);
    setSession(s.id);
    setPersona({ bot_profile: s.bot_profile, user_profile: s.user_profile, role_instruction: s.role_instruction || "" });
    state.messages = (s.turns || []).map((t) => ({ role: t.role === "user" ? "user" : "bot", text: t.utterance, restored: true, state: "done" }));
    renderConversation();
  } catch (err) {
    if (err.status === 404) {
      setSession("");
      newConversation();
    }
    if (!(restoring && err.status === 404)) showError(err);
  }
  await refreshSessions();
  closeNarrowPanels();
}

async function deleteSession(id) {
  showError(null);
  try {
    await api("DELETE", `/v1/sessions/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err.status !== 404) return showError(err);
  }
  if (id === state.sessionId) newConversation();
  await refreshSessions();
}

function newConversation() {
  setSession("");
  state.messages = [];
  renderConversation();
  refreshSessions();
}

// ---------------------------------------------------------------------------
// Sending a message.

function generationOptions() {
  const g = {};
  const maxNew = parseInt($("max-new-tokens").value, 10);
  const beams = parseInt($("num-beams").value, 10);
  if (maxNew > 0) g.max_new_tokens = maxNew;
  if (beams > 0) g.num_beams = beams;
  return Object.keys(g).length ? g : undefined;
}

function knowledgeInput() {
  const lines = $("knowledge-input").value.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.length ? lines : undefined;
}

function nonEmpty(values) {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v));
}

async function ensureSession(query) {
  if (state.sessionId) return state.sessionId;
  const s = await api("POST", "/v1/sessions", { title: query.slice(0, 24), ...nonEmpty(personaValues()) });
  setSession(s.id);
  return s.id;
}

async function send(query) {
  if (state.busy || !query) return;
  state.busy = true;
  $("send").disabled = true;
  // Screen readers announce the reply once it is complete, not every streamed token.
  $("messages").setAttribute("aria-busy", "true");
  showError(null);
  const user = addMessage({ role: "user", text: query });
  const bot = addMessage({ role: "bot", text: "", state: "streaming" });
  const newSession = !state.sessionId;
  try {
    const sessionId = await ensureSession(query);
    refreshSessions();
    const body = {
      query,
      session_id: sessionId,
      ...nonEmpty(personaValues()),
      knowledge: knowledgeInput(),
      generation: generationOptions(),
      debug: $("debug-toggle").checked || undefined,
    };
    const result = await streamChat(body, (text) => {
      bot.text += text;
      bot.bubble.textContent = bot.text;
      scrollToEnd();
    });
    Object.assign(bot, {
      text: result.response,
      state: "done",
      knowledge: result.knowledge || [],
      evidence: result.grounding_evidence || null,
      debug: result.debug || null,
      responseType: result.response_type,
      usage: result.usage,
    });
    bot.bubble.textContent = bot.text;
    updateMeta(bot);
    selectMessage(bot);
  } catch (err) {
    bot.state = "error";
    bot.bubble.textContent = bot.text || "（没有回复）";
    bot.el.classList.add("failed");
    updateMeta(bot);
    if (!bot.text) user.el.classList.add("failed");
    showError(err);
    // A session made for a first turn that failed would stay empty in the list.
    if (newSession && state.sessionId) {
      await api("DELETE", `/v1/sessions/${encodeURIComponent(state.sessionId)}`).catch(() => {});
      setSession("");
    }
  } finally {
    state.busy = false;
    $("send").disabled = false;
    $("messages").removeAttribute("aria-busy");
    scrollToEnd();
    await refreshSessions();
  }
}

// ---------------------------------------------------------------------------
// Examples.

function initExamples() {
  const box = $("examples");
  box.append(el("span", { class: "muted" }, "试试："));
  for (const example of EXAMPLES) {
    const button = el("button", { type: "button", class: "chip", "data-testid": "example" }, example.label);
    button.title = example.query;
    button.addEventListener("click", () => useExample(example));
    box.append(button);
  }
}

function useExample(example) {
  if (example.preset) setPersona(PRESETS.find((p) => p.id === example.preset));
  if (example.knowledge !== undefined) {
    const knowledge = $("knowledge-input");
    knowledge.value = example.knowledge;
    knowledge.dispatchEvent(new Event("input"));
  }
  const query = $("query");
  query.value = example.query;
  query.dispatchEvent(new Event("input"));
  query.focus();
}

// ---------------------------------------------------------------------------
// Settings, layout toggles, start-up.

function initSettings() {
  const key = $("api-key");
  key.value = store.get("apiKey");
  key.addEventListener("input", () => store.set("apiKey", key.value.trim()));
  key.addEventListener("change", () => {
    showError(null);
    refreshSessions();
  });
  for (const id of ["max-new-tokens", "num-beams", "knowledge-input"]) {
    $(id).value = store.get(id);
    $(id).addEventListener("input", () => store.set(id, $(id).value));
  }
  $("debug-toggle").checked = store.get("debug") === "1";
  $("debug-toggle").addEventListener("change", () => {
    store.set("debug", $("debug-toggle").checked ? "1" : "");
    renderDebug(state.selected);
  });
  $("open-settings").addEventListener("click", () => toggleHidden("settings", $("open-settings")));
  $("close-settings").addEventListener("click", () => toggleHidden("settings", $("open-settings")));
}

function closeNarrowPanels() {
  for (const [panel, button] of [["sessions", "toggle-sessions"], ["side-panel", "toggle-side"]]) {
    $(panel).classList.remove("open");
    $(button).setAttribute("aria-expanded", "false");
  }
}

function initLayout() {
  for (const button of document.querySelectorAll(".drawer-close")) button.addEventListener("click", closeNarrowPanels);
  for (const [panel, button] of [["sessions", "toggle-sessions"], ["side-panel", "toggle-side"]]) {
    $(button).addEventListener("click", () => {
      const open = $(panel).classList.toggle("open");
      $(button).setAttribute("aria-expanded", String(open));
    });
  }
}

function initComposer() {
  const query = $("query");
  const submit = () => {
    const text = query.value.trim();
    if (!text || state.busy) return;
    query.value = "";
    autoGrow();
    send(text);
  };
  const autoGrow = () => {
    query.style.height = "auto";
    query.style.height = Math.min(query.scrollHeight, 160) + "px";
  };
  query.addEventListener("input", autoGrow);
  query.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });
  $("new-session").addEventListener("click", () => {
    newConversation();
    closeNarrowPanels();
    query.focus();
  });
}

const welcome = $("welcome");

initPersona();
initExamples();
initSettings();
initLayout();
initComposer();
renderDebug(null);
if (state.sessionId) openSession(state.sessionId, true);
else {
  renderConversation();
  refreshSessions();
}
document.body.dataset.ready = "true";
