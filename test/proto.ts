import * as https from "node:https";
import { readFileSync } from "node:fs";
import * as undici from "undici/index.js";
const key = readFileSync("/tmp/pxproto/key.pem"), cert = readFileSync("/tmp/pxproto/cert.pem");
let n = 0;
const srv = https.createServer({ key, cert }, (req, res) => {
  n++;
  if (req.url === "/drop") { req.socket.destroy(); return; }
  res.writeHead(596, "Connection timed out", {"content-length": "0"});
  res.end();
});
await new Promise<void>(r => srv.listen(0, "127.0.0.1", r));
const port = (srv.address() as any).port;
console.log("Agent from", (undici as any).Agent.toString().slice(0,40));
try { await undici.request(`https://127.0.0.1:${port}/x`); console.log("default accepted!!"); } catch (e:any) { console.log("default rejected", e.code, e.message); }
const ag = new undici.Agent({ connect: { ca: cert } });
const r = await undici.request(`https://127.0.0.1:${port}/x`, { dispatcher: ag });
console.log(r.statusCode, JSON.stringify(r.statusText), await r.body.text());
try { await undici.request(`https://127.0.0.1:${port}/drop`, { dispatcher: ag }); } catch (e:any) { console.log("drop", e.code, e.name, e.message); }
console.log("n", n);
await ag.close(); srv.close();
