// Extracts the eight ObjectStack JSON schemas pkgdeck checks documents against (spec 9) from
// the pinned @objectstack/spec package, keeping every constraint and dropping prose.
// Run through scripts/extract-schemas, which installs the package first.
//
//   node scripts/extract-schemas.mjs NODE_MODULES OUT_DIR
//
// Writes OUT_DIR/<section>/<Name>.json (the package's own layout), OUT_DIR/LICENSE (the
// package's license file, verbatim) and OUT_DIR/SOURCE.json (package, version, license,
// npm integrity). Output is a pure function of the package: key order as the package has it,
// two-space indentation, one trailing newline. The drift test re-runs this into a temporary
// directory and compares every byte.
//
// Every key in a schema position must be known: a keyword that validates is kept, an
// annotation that only explains is dropped, and anything else stops the extraction, so a
// new keyword in a later spec release is looked at instead of being silently kept or lost.

import fs from "node:fs";
import path from "node:path";

const PACKAGE = "@objectstack/spec";

/** The schemas of spec 9, as paths under the package's json-schema/ folder. */
const SCHEMAS = [
  "kernel/Manifest.json",
  "data/Object.json",
  "ui/View.json",
  "ui/App.json",
  "automation/Flow.json",
  "ai/Agent.json",
  "ai/Tool.json",
  "system/TranslationBundle.json",
];

/** Annotations that explain and never change what validates. */
const PROSE = new Set(["description", "title", "examples", "$comment", "deprecated"]);

/** Keywords kept verbatim: their value is data, not a schema (never walked, never pruned). */
const DATA_KEYWORDS = new Set([
  "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor",
  "type", "enum", "const", "default", "required", "pattern", "format",
  "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
  "multipleOf", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
  "minContains", "maxContains", "dependentRequired", "contentEncoding", "contentMediaType",
]);

/** Keywords whose value is one schema. */
const SCHEMA_KEYWORDS = new Set([
  "items", "additionalProperties", "propertyNames", "not", "contains", "if", "then", "else",
  "unevaluatedItems", "unevaluatedProperties", "contentSchema",
]);

/** Keywords whose value is an array of schemas. */
const SCHEMA_ARRAY_KEYWORDS = new Set(["anyOf", "oneOf", "allOf", "prefixItems"]);

/** Keywords whose value maps names (property names, definition names) to schemas. */
const SCHEMA_MAP_KEYWORDS = new Set([
  "properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
]);

/** Generator annotations (`x-spec-version`, `x-io`): kept out; SOURCE.json says the version. */
const isExtension = (key) => key.startsWith("x-");

function fail(message) {
  process.stderr.write(`extract-schemas: ${message}\n`);
  process.exit(1);
}

/** The schema `node` at `where` with prose dropped; a boolean schema is kept as it is. */
function prune(node, where) {
  if (typeof node === "boolean") return node;
  if (node === null || typeof node !== "object" || Array.isArray(node)) {
    fail(`${where} is not a schema (found ${JSON.stringify(node)?.slice(0, 60)})`);
  }
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    const at = `${where}/${key}`;
    if (PROSE.has(key) || isExtension(key)) continue;
    if (DATA_KEYWORDS.has(key)) {
      out[key] = value;
    } else if (SCHEMA_KEYWORDS.has(key)) {
      out[key] = prune(value, at);
    } else if (SCHEMA_ARRAY_KEYWORDS.has(key)) {
      if (!Array.isArray(value)) fail(`${at} is not an array of schemas`);
      out[key] = value.map((sub, i) => prune(sub, `${at}/${i}`));
    } else if (SCHEMA_MAP_KEYWORDS.has(key)) {
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        fail(`${at} is not a map of schemas`);
      }
      // The names here are data: a property called "description" stays.
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, prune(sub, `${at}/${name}`)]),
      );
    } else {
      fail(`${at}: unknown keyword "${key}"; decide whether it validates and list it here`);
    }
  }
  return out;
}

function main() {
  const [nodeModules, outDir] = process.argv.slice(2);
  if (!nodeModules || !outDir) fail("usage: extract-schemas.mjs NODE_MODULES OUT_DIR");
  const root = path.join(nodeModules, PACKAGE);
  let pkg;
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  } catch (e) {
    fail(`cannot read ${PACKAGE} in ${nodeModules}: ${e.message}`);
  }
  // npm keeps the tarball's integrity in the installed tree's lock: it names the exact bytes.
  let integrity = null;
  try {
    const lock = JSON.parse(fs.readFileSync(path.join(nodeModules, ".package-lock.json"), "utf8"));
    integrity = lock.packages?.[`node_modules/${PACKAGE}`]?.integrity ?? null;
  } catch {
    integrity = null;
  }
  if (!integrity) fail(`no integrity for ${PACKAGE} in ${nodeModules}/.package-lock.json`);

  fs.mkdirSync(outDir, { recursive: true });
  for (const rel of SCHEMAS) {
    const from = path.join(root, "json-schema", rel);
    let schema;
    try {
      schema = JSON.parse(fs.readFileSync(from, "utf8"));
    } catch (e) {
      fail(`cannot read ${from}: ${e.message}`);
    }
    const to = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.writeFileSync(to, JSON.stringify(prune(schema, rel), null, 2) + "\n");
  }
  fs.copyFileSync(path.join(root, "LICENSE"), path.join(outDir, "LICENSE"));
  const source = {
    package: PACKAGE,
    version: pkg.version,
    license: pkg.license,
    integrity,
    schemas: SCHEMAS,
    note: "Extracted by scripts/extract-schemas: every constraint kept; description, title, examples, $comment, deprecated and x-* annotations dropped. Do not edit by hand.",
  };
  fs.writeFileSync(path.join(outDir, "SOURCE.json"), JSON.stringify(source, null, 2) + "\n");
}

main();
