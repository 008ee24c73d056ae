// `specter2 web`'s server (startWebDemo, what the command runs) over plain HTTP: the model directory is served as the
// model, nothing more: only the files its manifest names, never through a symlink leading out of it; the demo's own
// folder keeps to itself the same way. A stand-in for dist/web keeps this test free of the browser bundle
// (test/browser/webCommand.test.ts runs the built command on the real one).
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { startWebDemo } from "../../src/cli/webServer";
import { tempDir } from "../helpers/convert";
import { addUserFiles, linkOut } from "../helpers/hostileFiles";

const TINY = join(__dirname, "..", "..", "weights", "specter2-tiny");

/** A raw GET (fetch would normalise the path). */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** What dist/web must hold for startWebDemo to start, and one asset of the demo's own. */
function standInDistWeb(): string {
  const dir = join(tempDir("web-dist"), "web");
  mkdirSync(join(dir, "demo"), { recursive: true });
  for (const file of ["specter2.js", "specter2.worker.js", "demo/index.html", "demo/papers.jsonl"]) writeFileSync(join(dir, file), `${file}\n`);
  return dir;
}

describe("specter2 web serves the model directory's model, nothing else", () => {
  it("symlinks leading out (to /etc/passwd) are 404 in the model directory and the demo's folder; files the manifest does not name too", async () => {
    const model = join(tempDir("web-model"), "model");
    cpSync(TINY, model, { recursive: true });
    linkOut(model, "passwd", "/etc/passwd");
    linkOut(join(model, "adapters"), "leak.json", "/etc/passwd");
    linkOut(model, "outside-dir", "/etc");
    addUserFiles(model);
    const distWeb = standInDistWeb();
    linkOut(join(distWeb, "demo"), "passwd.txt", "/etc/passwd");
    const server = await startWebDemo({ model, distWeb, port: 0 });
    try {
      const status = async (path: string) => [path, (await get(`${server.url}${path}`)).status];
      const manifest = JSON.parse(readFileSync(join(model, "manifest.json"), "utf8")) as { files: Record<string, unknown> };
      for (const path of ["manifest.json", ...Object.keys(manifest.files)]) expect(await status(`/model/${path}`)).toEqual([`/model/${path}`, 200]);
      expect((await get(`${server.url}/model/adapters/proximity.json`)).body).toBe(readFileSync(join(TINY, "adapters", "proximity.json"), "utf8"));
      expect(await status("/demo/papers.jsonl")).toEqual(["/demo/papers.jsonl", 200]);
      for (const path of ["/model/passwd", "/model/adapters/leak.json", "/model/outside-dir/passwd", "/model/NOTES.md", "/model/runs/papers.npy", "/demo/passwd.txt"]) {
        const r = await get(`${server.url}${path}`);
        expect([path, r.status]).toEqual([path, 404]);
        expect(r.body).not.toContain("root:");
      }
    } finally {
      await server.close();
    }
  });

  it("a manifest file replaced by a symlink out of the directory is not served, though the manifest names it", async () => {
    const model = join(tempDir("web-model"), "model");
    cpSync(TINY, model, { recursive: true });
    rmSync(join(model, "config.json"));
    linkOut(model, "config.json", "/etc/passwd");
    const server = await startWebDemo({ model, distWeb: standInDistWeb(), port: 0 });
    try {
      const r = await get(`${server.url}/model/config.json`);
      expect(r.status).toBe(404);
      expect(r.body).not.toContain("root:");
      expect((await get(`${server.url}/model/manifest.json`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
