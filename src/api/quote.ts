// Printing input safely (names, values, paths, selectors): see src/selector/printable.ts for why and how.
// Everything above the selector part takes these from here.

export { displayText, escapeControls, isPrintable, printableJson, quote } from '../selector/printable.js';
