// Screenshots of TensorBoard views that need a click: HPARAMS' parallel coordinates, and the
// projector coloured by class. Chromium runs headless with a DevTools port; this script opens the
// tab, does what a user would (clicks "PARALLEL COORDINATES VIEW", or sets "Color by" to the
// class name), waits, and saves the page:
//
//   chromium --headless --no-sandbox --disable-gpu --user-data-dir=$(mktemp -d) --remote-debugging-port=9339 &
//   tensorboard --logdir <sweep dir> --port 6006 &
//   WS=$(curl -s http://127.0.0.1:9339/json/version | python -c "import json,sys; print(json.load(sys.stdin)['webSocketDebuggerUrl'])")
//   node --experimental-websocket scripts/screenshot_views.js $WS "http://127.0.0.1:6006/#hparams" hparams.png parallel
//   node --experimental-websocket scripts/screenshot_views.js $WS "http://127.0.0.1:6006/#projector" projector.png projector
//
// (Node 20 needs --experimental-websocket for its WebSocket; Node 22 has it by default.)
const [ws_url, url, out, mode] = process.argv.slice(2);
const fs = require('fs');
const ws = new WebSocket(ws_url);
let id = 0; const waiting = {};
function send(method, params = {}, sessionId) {
  return new Promise(res => { const i = ++id; waiting[i] = res; ws.send(JSON.stringify({id: i, method, params, sessionId})); });
}
ws.onmessage = e => { const m = JSON.parse(e.data); if (m.id && waiting[m.id]) waiting[m.id](m.result || m); };
const sleep = ms => new Promise(r => setTimeout(r, ms));
const FIND = `
function all(root, out) { for (const el of root.querySelectorAll('*')) { out.push(el); if (el.shadowRoot) all(el.shadowRoot, out);
  if (el.tagName === 'IFRAME') { try { if (el.contentDocument) all(el.contentDocument, out); } catch (e) {} } } return out; }`;
ws.onopen = async () => {
  const {targetId} = await send('Target.createTarget', {url: 'about:blank'});
  const {sessionId} = await send('Target.attachToTarget', {targetId, flatten: true});
  await send('Emulation.setDeviceMetricsOverride', {width: 1600, height: 1300, deviceScaleFactor: 1, mobile: false}, sessionId);
  await send('Page.navigate', {url}, sessionId);
  await sleep(12000);
  let js;
  if (mode === 'parallel') js = FIND + `const t = all(document, []).filter(e => e.textContent.trim() === 'PARALLEL COORDINATES VIEW'); t.length && t[t.length-1].click(); 'clicked ' + t.length`;
  else js = FIND + `const p = all(document, []).filter(e => e.tagName === 'VZ-PROJECTOR-DATA-PANEL'); p.forEach(x => x.selectedColorOptionName = 'name'); 'set ' + p.length + ' ' + (p[0] ? JSON.stringify(p[0].colorOptions.map(o => o.name)) : '')`;
  const r = await send('Runtime.evaluate', {expression: js, returnByValue: true}, sessionId);
  console.log(JSON.stringify(r.result && r.result.value));
  await sleep(8000);
  const shot = await send('Page.captureScreenshot', {format: 'png'}, sessionId);
  fs.writeFileSync(out, Buffer.from(shot.data, 'base64'));
  process.exit(0);
};
