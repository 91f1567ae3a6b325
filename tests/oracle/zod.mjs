// The protocol's own verdict on ObjectStack items (spec 9, agreement): reads JSON lines
// `{"kind": K, "item": ITEM}` on stdin and answers one JSON line per input, in order:
// `{"ok": true}` or `{"ok": false, "issues": ["path: message", …]}`, from
// `<Schema>.safeParse(item)` of the pinned @objectstack/spec zod schemas.
//
//   node tests/oracle/zod.mjs NODE_MODULES
//
// NODE_MODULES is the directory scripts/install-objectstack installs into. A line that is
// not JSON, or names an unknown kind, stops the oracle with exit status 2: the test then fails
// instead of comparing against a verdict nobody gave.

import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";

const nodeModules = process.argv[2];
if (!nodeModules) {
  process.stderr.write("zod.mjs: usage: node zod.mjs NODE_MODULES\n");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(nodeModules), "pkgdeck-oracle.cjs"));

/** Kind → [subpath of @objectstack/spec, exported zod schema]. */
const SCHEMAS = {
  manifest: ["kernel", "ManifestSchema"],
  objects: ["data", "ObjectSchema"],
  views: ["ui", "ViewSchema"],
  apps: ["ui", "AppSchema"],
  flows: ["automation", "FlowSchema"],
  agents: ["ai", "AgentSchema"],
  tools: ["ai", "ToolSchema"],
  translations: ["system", "TranslationBundleSchema"],
};

const schemas = {};
for (const [kind, [subpath, name]] of Object.entries(SCHEMAS)) {
  const schema = require(`@objectstack/spec/${subpath}`)[name];
  if (!schema || typeof schema.safeParse !== "function") {
    process.stderr.write(`zod.mjs: @objectstack/spec/${subpath} exports no zod schema ${name}\n`);
    process.exit(2);
  }
  schemas[kind] = schema;
}

const out = [];
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (line.trim() === "") continue;
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    process.stderr.write(`zod.mjs: input line is not JSON: ${e.message}\n`);
    process.exit(2);
  }
  const schema = schemas[request.kind];
  if (!schema) {
    process.stderr.write(`zod.mjs: unknown kind ${JSON.stringify(request.kind)}\n`);
    process.exit(2);
  }
  const result = schema.safeParse(request.item);
  if (result.success) {
    out.push(JSON.stringify({ ok: true }));
  } else {
    const issues = result.error.issues.map(
      (i) => `${["$", ...i.path].join(".")}: ${i.message}`,
    );
    out.push(JSON.stringify({ ok: false, issues }));
  }
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
