// Text → YAML documents (AST nodes with source ranges), with the nesting bound enforced while parsing.
// yaml's composer recurses once per nesting level and, deep enough, overflows the stack — sometimes fatally
// for the whole process (V8 aborts when a regexp is compiled on an exhausted stack). So the CST parser, which
// keeps its own stack, is driven token by token here and stopped as soon as that stack is deeper than the
// limit; only bounded CST reaches the composer.

import { Composer, type Document, Lexer, LineCounter, Parser, type CST } from 'yaml';

import type { Issue } from '../issues.js';
import { LOAD_LIMITS } from './limits.js';

/** yaml options shared by parsing and by toJS, chosen to match what kubectl and calicoctl accept. */
export const YAML_OPTIONS = {
  // go-yaml (behind sigs.k8s.io/yaml) honours `<<` merge keys; YAML 1.2 core leaves them off by default.
  merge: true,
  prettyErrors: false,
  strict: true,
  uniqueKeys: true,
  // yaml reports some problems (a mapping key that is a collection) through process.emitWarning, which would
  // print a Node warning on stderr; the loader reports those itself, at their line (materialize.ts).
  logLevel: 'error',
} as const;

export interface ParsedStream {
  documents: Document.Parsed[];
  lineCounter: LineCounter;
  issues: Issue[];
}

/** Errors yaml reports after the first few in one file are mostly consequences of the first. */
const MAX_SYNTAX_ISSUES_PER_FILE = 20;
/** The document sits on the parser stack, and a scalar being read may too; the exact depth check is on values. */
const PARSER_STACK_BASE = 2;

export function parseYamlStream(text: string, file: string, budget: { remaining: number; max: number }): ParsedStream {
  const lineCounter = countLines(text);
  const issues: Issue[] = [];
  const documents: Document.Parsed[] = [];
  const at = (offset: number): Issue['position'] => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };

  const parser = new Parser();
  const composer = new Composer(YAML_OPTIONS);
  let stopped = false;

  function* boundedTokens(): Generator<CST.Token> {
    for (const lexeme of new Lexer().lex(text)) {
      yield* parser.next(lexeme);
      if (parser.stack.length - PARSER_STACK_BASE > LOAD_LIMITS.maxDepth) {
        issues.push(tooDeep(at(parser.offset)));
        stopped = true;
        return;
      }
    }
    yield* parser.end();
  }

  for (const doc of composer.compose(boundedTokens())) {
    if (stopped && doc.errors.length > 0) break; // the document cut short by the depth bound
    if (documents.length >= budget.remaining) {
      issues.push({
        code: 'load.too-many-objects', path: [], position: at(doc.range[0]),
        message: `too many documents (max ${budget.max} objects per load); the rest of the file was not read`,
      });
      break;
    }
    documents.push(doc);
  }

  let syntaxIssues = 0;
  for (const doc of documents) {
    for (const err of doc.errors) {
      if (++syntaxIssues > MAX_SYNTAX_ISSUES_PER_FILE) break;
      const quote = unclosedQuote(text, err);
      issues.push(quote === undefined
        ? { code: 'yaml.syntax', path: [], position: at(err.pos[0]), message: syntaxMessage(err) }
        : {
          code: 'yaml.syntax', path: [], position: at(quote.offset),
          message: `invalid YAML: missing closing ${quote.char} quote: the string that starts here is never closed`,
        });
    }
  }
  if (syntaxIssues > MAX_SYNTAX_ISSUES_PER_FILE) {
    issues.push({
      code: 'yaml.syntax', path: [], position: { file, line: 1, col: 1 },
      message: `${syntaxIssues - MAX_SYNTAX_ISSUES_PER_FILE} more YAML syntax errors not shown`,
    });
  }
  return { documents, lineCounter, issues };
}

export function tooDeep(position: Issue['position']): Issue {
  return {
    code: 'load.too-deep', path: [], position,
    message: `nesting too deep (max ${LOAD_LIMITS.maxDepth} levels of mappings and sequences); the rest of the ` +
      'file was not read',
  };
}

function syntaxMessage(err: { code: string; message: string }): string {
  const text = err.message.replace(/\s+/g, ' ').trim();
  const lowered = text.charAt(0).toLowerCase() + text.slice(1);
  return `invalid YAML: ${lowered}`;
}

/**
 * yaml reports an unclosed quoted string where the input ends; the user needs the opening quote. The string runs
 * to the error offset, so the opening quote is the last quote before it that is not part of the string:
 * in "…" the last `"` not escaped by a backslash; in '…' the start of the last run of `'` of odd length
 * (inside single quotes a quote is written twice).
 */
function unclosedQuote(text: string, err: { code: string; message: string; pos: [number, number] }):
  { char: string; offset: number } | undefined {
  if (err.code !== 'MISSING_CHAR') return undefined;
  const char = err.message.includes('"') ? '"' : err.message.includes("'") ? "'" : undefined;
  if (char === undefined) return undefined;
  let i = Math.min(err.pos[0], text.length) - 1;
  while (i >= 0) {
    if (text[i] !== char) { i--; continue; }
    if (char === '"') {
      let backslashes = 0;
      while (text[i - 1 - backslashes] === '\\') backslashes++;
      if (backslashes % 2 === 0) return { char, offset: i };
      i -= backslashes + 1;
    } else {
      let run = 0;
      while (text[i - run] === "'") run++;
      if (run % 2 === 1) return { char, offset: i - run + 1 };
      i -= run;
    }
  }
  return undefined;
}

/** A LineCounter knowing every line start, so positions work even where parsing stopped early. */
function countLines(text: string): LineCounter {
  const lc = new LineCounter();
  lc.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lc.addNewLine(i + 1);
  return lc;
}
