#!/usr/bin/env node
/**
 * Reports UI text that bypasses the catalogues (src/i18n/locales): JSX text with letters in it,
 * string literals as JSX children, and string literals in the attributes people read or hear
 * (aria-label, title, placeholder, alt, label). Exits 1 when it finds any outside the files listed
 * in scripts/i18n-pending.txt (those not translated yet: reported, counted, not failed), and when
 * a listed file has become clean (take it off the list).
 *
 *     node scripts/check-i18n.mjs            # src/ui and src/i18n
 *     node scripts/check-i18n.mjs --all      # also list every finding in pending files
 *
 * A line that must keep a literal (a brand name) says so with a comment containing `i18n-ignore`.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const WEB = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROOTS = ["src/ui", "src/i18n"];
const ATTRIBUTES = new Set(["aria-label", "title", "placeholder", "alt", "label", "aria-description"]);
const LETTER = /\p{L}/u;
const showAll = process.argv.includes("--all");

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...files(path));
    else if (path.endsWith(".tsx") && !path.endsWith(".test.tsx")) out.push(path);
  }
  return out;
}

function literalText(node) {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text + node.templateSpans.map((s) => s.literal.text).join("");
  return null;
}

/** Findings in one file: [line, what, text]. */
export function check(path, source = readFileSync(path, "utf8")) {
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
  const lines = source.split("\n");
  const found = [];
  const report = (node, what, text) => {
    const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
    if (lines[line]?.includes("i18n-ignore") || lines[line - 1]?.includes("i18n-ignore")) return;
    found.push([line + 1, what, text.trim().replace(/\s+/g, " ")]);
  };
  const visit = (node) => {
    if (ts.isJsxText(node) && LETTER.test(node.text)) report(node, "text", node.text);
    if (ts.isJsxExpression(node) && node.expression && ts.isJsxElement(node.parent)) {
      const text = literalText(node.expression);
      if (text !== null && LETTER.test(text)) report(node, "text", text);
    }
    if (ts.isJsxAttribute(node) && ATTRIBUTES.has(node.name.getText(file)) && node.initializer) {
      const init = node.initializer;
      const value = ts.isStringLiteral(init) ? init.text : init.expression ? literalText(init.expression) : null;
      if (value !== null && LETTER.test(value)) report(node, node.name.getText(file), value);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function main() {
  const pendingPath = join(WEB, "scripts/i18n-pending.txt");
  const pending = new Set(
    readFileSync(pendingPath, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")),
  );
  let failures = 0;
  let waiting = 0;
  for (const root of ROOTS) {
    for (const path of files(join(WEB, root))) {
      const name = relative(WEB, path);
      const found = check(path);
      if (pending.has(name)) {
        pending.delete(name);
        if (found.length === 0) {
          console.log(`${name}: clean now; take it off scripts/i18n-pending.txt`);
          failures++;
        } else {
          waiting += found.length;
          if (showAll) for (const [line, what, text] of found) console.log(`${name}:${line}: (pending) ${what}: ${text}`);
        }
        continue;
      }
      for (const [line, what, text] of found) {
        console.log(`${name}:${line}: ${what} not from the catalogue: ${JSON.stringify(text)}`);
        failures++;
      }
    }
  }
  for (const name of pending) {
    console.log(`scripts/i18n-pending.txt: no such file ${name}`);
    failures++;
  }
  if (waiting) console.log(`check-i18n: ${waiting} strings in files not translated yet (scripts/i18n-pending.txt)`);
  if (failures) {
    console.log(`check-i18n: ${failures} problems`);
    process.exit(1);
  }
  console.log("check-i18n: every string in translated files comes from the catalogues");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
