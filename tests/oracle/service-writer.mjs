// A writer that is the real ObjectStack package service: it starts the REAL
// `PackageServicePlugin` from @objectstack/service-package 17.4.0 with a real `ObjectQL` engine
// from @objectstack/objectql and a driver that hands the service's SQL verbatim to
// @libsql/client on `file:` (as a server on a local registry does), then publishes packages
// through the service's own `publish`. pkgdeck's concurrency tests run it beside pkgdeck
// writers on the same SQLite file.
//
// Usage: node tests/oracle/service-writer.mjs DIR DB PREFIX COUNT
//   DIR     what scripts/install-objectstack prints (its node_modules holds the packages)
//   DB      the registry file
//   PREFIX  package ids are PREFIX.0 … PREFIX.(COUNT-1), each version 1.0.0
// Writes one JSON line on stdout: {"published": [ID], "failed": [{"id", "message"}]}, where
// a failure is a publish the service answered with success: false (it logs the reason).
// Everything the packages log goes to stderr, never to stdout.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [dir, db, prefix, countText] = process.argv.slice(2);
if (!dir || !db || !prefix || !countText) {
  process.stderr.write("usage: node service-writer.mjs DIR DB PREFIX COUNT\n");
  process.exit(2);
}
const count = Number(countText);

// The packages log with console.*: stdout carries only the answer.
for (const level of ["log", "info", "warn", "debug", "trace"]) {
  console[level] = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
}

// ESM entry point of an installed package, from its package.json `exports` (this file lives
// outside the install directory, so bare specifiers would not resolve).
function entry(name) {
  const root = join(dir, "node_modules", name);
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  let target = pkg.exports?.["."] ?? pkg.exports ?? pkg.module ?? pkg.main;
  while (target && typeof target === "object") {
    target = target.import ?? target.node ?? target.default;
  }
  if (typeof target !== "string") throw new Error(`cannot find the ESM entry point of ${name}`);
  return pathToFileURL(join(root, target)).href;
}

const { PackageServicePlugin } = await import(entry("@objectstack/service-package"));
const { ObjectQL } = await import(entry("@objectstack/objectql"));
const { createClient } = await import(entry("@libsql/client"));

const errors = [];
const logger = {
  debug: () => {},
  trace: () => {},
  info: () => {},
  warn: (m) => process.stderr.write(`warn: ${m}\n`),
  error: (m, e) => errors.push(`${m}: ${e?.message ?? e}`),
};

const client = createClient({ url: `file:${db}` });
const engine = new ObjectQL({ logger });
engine.registerDriver(
  {
    name: "service-writer-libsql",
    version: "0",
    async execute(sql, params) {
      return client.execute({ sql, args: params ?? [] });
    },
  },
  true,
);
const services = {};
const ctx = {
  logger,
  getService: (name) => (name === "objectql" ? engine : services[name]),
  registerService: (name, service) => {
    services[name] = service;
  },
};
const plugin = new PackageServicePlugin();
await plugin.init(ctx);
await plugin.start(ctx);
const service = services.package;

const published = [];
const failed = [];
for (let i = 0; i < count; i++) {
  const id = `${prefix}.${i}`;
  errors.length = 0;
  const answer = await service.publish({
    manifest: { id, version: "1.0.0", type: "app", name: `Service ${i}` },
    metadata: { objects: [{ name: `svc_${i}` }] },
  });
  if (answer?.success) published.push(id);
  else failed.push({ id, message: errors.join("; ") || JSON.stringify(answer) });
}
client.close();
process.stdout.write(JSON.stringify({ published, failed }) + "\n");
