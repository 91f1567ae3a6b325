// The oracle of what the real ObjectStack server does with a registry at boot (spec 8).
//
// It boots the REAL `PackageServicePlugin` from @objectstack/service-package 17.4.0 over a SQLite
// file: the plugin's own `init`/`start` code runs with a real `ObjectQL` engine from
// @objectstack/objectql (whose `registry` is its real `SchemaRegistry`) and a driver that hands
// the service's SQL verbatim to @libsql/client on `file:`. Only the kernel context (logger,
// service lookup) is ours. Nothing in here decides what loads: it only reads the answers.
//
// Usage: node tests/oracle/boot.mjs DIR, where DIR is what scripts/install-objectstack prints
// (its node_modules holds the packages). The process reads one JSON request per line on stdin
// and writes exactly one JSON answer per line on stdout, in order, until stdin closes. A request
// that fails answers {"ok": false, "error": "..."} and the process goes on with the next one.
// Everything the packages log goes into the answer's `logs` (when asked), never to stdout.
//
// Requests and answers:
//
// {"op": "boot", "db": PATH, "code_packages": [{"id": ID, "namespace": NS|null}], "logs": false}
//   Installs the code packages into the registry first (`registry.installPackage`, as a server
//   that defines packages in code does), then runs the plugin's `start`. Answers
//   {"ok": true,
//    "code_error": null | MESSAGE,            a code package could not be installed (no boot)
//    "start_error": null | MESSAGE,           the plugin's start() itself threw
//    "list_rows": [{"id", "version"}] | null, the rows the service's list() query returned, in
//                                             the engine's order (null: the query never ran)
//    "list_failed": null | {"message", "index"},  list() caught an error and answered [];
//                                             `index` is the first row in list_rows whose
//                                             manifest or metadata JSON.parse rejects
//    "threw": null | {"message", "index", "stage"},  the boot loop threw (the service catches
//                                             it and logs it at debug level); `index` is the
//                                             list_rows row it was on, `stage` is "check"
//                                             (before installPackage) or "install"
//    "outcomes": [OUTCOME] (with list_rows),   per list row, read from what the real code logged:
//                                             "loads" (installed), "warns" (installed after a
//                                             [protocol] warning), "refused" (the [protocol]
//                                             refusal), "aborts" (the row the loop threw on),
//                                             "skipped" (nothing happened for it)
//    "loaded": [{"id", "version"}],           registry.listItems('package') after the boot, in
//                                             install order, code packages left out; values
//                                             as the registry holds them (JSON.stringify'd)
//    "get": {ROW_ID: VERSION | null},         the real service's get(id) for every distinct id
//                                             in the file (SELECT DISTINCT id FROM sys_packages)
//    "get_hash": {ROW_ID: HASH | null},       the hash of the record that get(id) answered
//    "logs": [[LEVEL, MESSAGE, LOOKUPS]]}     only when the request asked for logs; LOOKUPS is
//                                             how many rows the loop had looked up by then
//
// {"op": "protocol", "manifest": VALUE, "runtime": "17.0.0" | null}
//   The real `checkProtocolCompat(manifest[, runtime])` from @objectstack/metadata-core.
//   Answers {"ok": true, "status": "ok|no-range|unparsed-range|incompatible" | null,
//   "source": ..., "range": ..., "threw": null | {"name", "message"}}.
//
// {"op": "json_parse", "texts": [TEXT]}
//   Answers {"ok": true, "accepted": [BOOL]}: whether JSON.parse accepts each text.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: node boot.mjs DIR (the directory scripts/install-objectstack prints)\n");
  process.exit(2);
}

// The packages log with console.*; stdout carries only answers, so every console method is
// redirected into the current request's log (kept only when the request asked for it).
// The server's defaults: a namespace conflict aborts (not the OS_METADATA_COLLISION=warn
// migration mode) and the registry logs at info, which the per-row outcomes below read.
delete process.env.OS_METADATA_COLLISION;
delete process.env.OS_REGISTRY_LOG;

// Each entry is [level, message, lookups]: `lookups` counts the boot loop's getPackage calls so
// far, which ties every message to the row the loop was on.
let currentLogs = [];
let lookups = 0;
for (const level of ["log", "info", "warn", "error", "debug", "trace"]) {
  console[level] = (...args) => {
    currentLogs.push([level, args.map(String).join(" "), lookups]);
  };
}
const writeAnswer = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  currentLogs.push(["stdout", String(chunk), lookups]);
  const done = rest.find((r) => typeof r === "function");
  if (done) done();
  return true;
};

// ESM entry point of an installed package, from its package.json `exports` (bare specifiers
// cannot be resolved from this file, which lives outside the install directory).
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
const { checkProtocolCompat } = await import(entry("@objectstack/metadata-core"));
const { createClient } = await import(entry("@libsql/client"));

const LIST_SQL = /SELECT \* FROM sys_packages\s+WHERE \(id, created_at\) IN/;

function loggerFor(logs) {
  const at = (level) => (message, ...rest) => {
    const extra = rest.map((r) => (r instanceof Error ? `${r.name}: ${r.message}` : String(r)));
    logs.push([level, [String(message), ...extra].join(" "), lookups]);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), trace: at("trace") };
}

function parses(text) {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// A value as it crosses JSON: undefined becomes null.
function plain(value) {
  return value === undefined ? null : value;
}

async function boot(request) {
  const logs = [];
  currentLogs = logs;
  const answer = {
    ok: true,
    code_error: null,
    start_error: null,
    list_rows: null,
    list_failed: null,
    threw: null,
    outcomes: null,
    loaded: [],
    get: {},
    get_hash: {},
  };
  const client = createClient({ url: `file:${request.db}` });
  try {
    let listRaw = null;
    const engine = new ObjectQL({ logger: loggerFor(logs) });
    engine.registerDriver(
      {
        name: "oracle-libsql",
        version: "0",
        async execute(sql, params) {
          const result = await client.execute({ sql, args: params ?? [] });
          if (LIST_SQL.test(sql)) listRaw = result.rows;
          return result;
        },
      },
      true,
    );
    const registry = engine.registry;

    // Where the boot loop is: it calls getPackage(id) once for every row with a truthy
    // manifest.id, in list() order, then installPackage(manifest) for the rows it installs.
    lookups = 0;
    let stage = null;
    const getPackage = registry.getPackage.bind(registry);
    const installPackage = registry.installPackage.bind(registry);
    let booting = false;
    registry.getPackage = (id) => {
      if (booting) {
        lookups += 1;
        stage = "check";
      }
      return getPackage(id);
    };
    registry.installPackage = (manifest, ...rest) => {
      if (booting) stage = "install";
      return installPackage(manifest, ...rest);
    };

    const code = request.code_packages ?? [];
    try {
      for (const pkg of code) {
        const manifest = { id: pkg.id, name: pkg.id, version: "0.0.0", type: "plugin" };
        if (pkg.namespace != null) manifest.namespace = pkg.namespace;
        installPackage(manifest);
      }
    } catch (error) {
      answer.code_error = String(error?.message ?? error);
      return answer;
    }

    const services = {};
    const ctx = {
      logger: loggerFor(logs),
      getService: (name) => (name === "objectql" ? engine : services[name]),
      registerService: (name, service) => {
        services[name] = service;
      },
    };
    const plugin = new PackageServicePlugin();
    booting = true;
    try {
      await plugin.init(ctx);
      await plugin.start(ctx);
    } catch (error) {
      answer.start_error = String(error?.message ?? error);
    }
    booting = false;

    if (listRaw) {
      answer.list_rows = listRaw.map((row) => ({ id: plain(row.id), version: plain(row.version) }));
      // Row index of the k-th getPackage call: the k-th row (in list order) whose parsed
      // manifest.id is truthy, exactly the rows the loop looks up.
      const rowOfLookup = [-1];
      for (let i = 0; i < listRaw.length; i++) {
        let id;
        try {
          id = JSON.parse(listRaw[i].manifest)?.id;
        } catch {
          id = undefined;
        }
        if (id) rowOfLookup.push(i);
      }
      const outcomes = listRaw.map(() => "skipped");
      const failed = logs.find(([level, message]) => level === "error" && message.startsWith("Failed to list packages"));
      if (failed) {
        const index = listRaw.findIndex((row) => !parses(row.manifest) || !parses(row.metadata));
        answer.list_failed = { message: failed[1], index };
      }
      const seen = new Map();
      for (const [level, message, at] of logs) {
        const row = rowOfLookup[at] ?? -1;
        if (row < 0) continue;
        const kinds = seen.get(row) ?? new Set();
        if (level === "error" && message.startsWith("[protocol] refusing to rehydrate package")) kinds.add("refused");
        if (level === "warn" && message.startsWith("[protocol] package ")) kinds.add("warn");
        if (level === "log" && message.startsWith("[Registry] Installed package:")) kinds.add("installed");
        seen.set(row, kinds);
      }
      for (const [row, kinds] of seen) {
        if (kinds.has("refused")) outcomes[row] = "refused";
        else if (kinds.has("installed")) outcomes[row] = kinds.has("warn") ? "warns" : "loads";
      }
      // The service catches what the loop throws and logs it at debug level.
      const prefix = "Package hydration from sys_packages skipped: ";
      const skipped = logs.find(([level, message]) => level === "debug" && message.startsWith(prefix));
      if (skipped) {
        const index = rowOfLookup[skipped[2]] ?? -1;
        answer.threw = { message: skipped[1].slice(prefix.length), index, stage };
        if (index >= 0) outcomes[index] = "aborts";
      }
      answer.outcomes = outcomes;
    }

    const codeCount = code.length;
    answer.loaded = registry
      .listItems("package")
      .slice(codeCount)
      .map((pkg) => ({ id: plain(pkg.manifest?.id), version: plain(pkg.manifest?.version) }));

    const service = services.package;
    if (service) {
      const ids = await client.execute("SELECT DISTINCT id FROM sys_packages");
      for (const row of ids.rows) {
        const record = await service.get(row.id);
        answer.get[String(row.id)] = record ? plain(record.version) : null;
        answer.get_hash[String(row.id)] = record ? plain(record.hash) : null;
      }
    }
  } finally {
    client.close();
  }
  if (request.logs) answer.logs = logs;
  return answer;
}

function protocol(request) {
  currentLogs = [];
  const answer = { ok: true, status: null, source: null, range: null, threw: null };
  try {
    const result =
      request.runtime == null
        ? checkProtocolCompat(request.manifest)
        : checkProtocolCompat(request.manifest, request.runtime);
    answer.status = result.status;
    answer.source = plain(result.source);
    answer.range = plain(result.requiredRange);
  } catch (error) {
    answer.threw = { name: String(error?.name), message: String(error?.message ?? error) };
  }
  return answer;
}

async function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (error) {
    return { ok: false, error: `the request is not JSON: ${error.message}` };
  }
  try {
    switch (request.op) {
      case "boot":
        return await boot(request);
      case "protocol":
        return protocol(request);
      case "json_parse":
        return { ok: true, accepted: request.texts.map(parses) };
      default:
        return { ok: false, error: `unknown op ${JSON.stringify(request.op)}` };
    }
  } catch (error) {
    return { ok: false, error: `${error?.name ?? "Error"}: ${error?.message ?? error}` };
  }
}

// One request at a time, answers in request order.
let chain = Promise.resolve();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (line.trim() === "") return;
  chain = chain.then(async () => {
    const answer = await handle(line);
    writeAnswer(JSON.stringify(answer) + "\n");
  });
});
lines.on("close", () => {
  chain.then(() => process.exit(0));
});
