// Field splitting for the text formats, by their specification rather than by one exporter's habits:
// - whitespace-delimited (TRC headers, .mot/.sto, whitespace tables): ANY run of spaces/tabs is one
//   separator, leading and trailing separators are ignored (OpenSim's and Vicon's exporters pad header
//   lines with runs of tabs: `100.0\t\t100.0\t\t238…`);
// - comma-separated (CSV, UI-PRMD): one comma separates two fields, blanks around a cell are not part
//   of it, and a trailing comma at the end of a line adds no field.
// Positional tab fields (TRC data rows, where an empty cell is a missing marker) are split by the TRC
// reader itself: there a run of tabs is NOT one separator.

/**
 * A text file's bytes as a string, without the UTF-8 byte-order mark that Windows tools put first
 * (Excel's "CSV UTF-8", Notepad, .NET writers): left in, it becomes part of the first keyword, so
 * "PathFileType" or a JSON document would no longer be recognised.
 */
export const decodeText = (bytes: Uint8Array): string => new TextDecoder('utf-8').decode(bytes);

export type Delimiter = 'comma' | 'whitespace';

/** A table's delimiter from its header (or first) line: commas if it has any, else whitespace. */
export const delimiterOf = (line: string): Delimiter => (line.includes(',') ? 'comma' : 'whitespace');

/** Fields of a whitespace-delimited line: runs of whitespace separate, ends ignored. */
export function splitWhitespace(line: string): string[] {
  const t = line.trim();
  return t === '' ? [] : t.split(/\s+/);
}

/** Fields of a comma-separated line, each trimmed; one trailing comma adds no field. */
export function splitComma(line: string): string[] {
  const t = line.trim();
  if (t === '') return [];
  const cells = t.split(',').map((c) => c.trim());
  if (cells.length > 1 && cells[cells.length - 1] === '') cells.pop();
  return cells;
}

export const splitFields = (line: string, delimiter: Delimiter): string[] => (delimiter === 'comma' ? splitComma(line) : splitWhitespace(line));
