// Field splitting for the text formats, by their specification rather than by one exporter's habits:
// - whitespace-delimited (TRC headers, .mot/.sto, whitespace tables): ANY run of spaces/tabs is one
//   separator, leading and trailing separators are ignored (OpenSim's and Vicon's exporters pad header
//   lines with runs of tabs: `100.0\t\t100.0\t\t238…`);
// - comma-separated (CSV, UI-PRMD): one comma separates two fields, blanks around a cell are not part
//   of it, and a trailing comma at the end of a line adds no field; fields may be quoted (RFC 4180);
// - semicolon-separated (spreadsheets in decimal-comma locales): as comma-separated, numbers may use a
//   decimal comma.
// Positional tab fields (TRC data rows, where an empty cell is a missing marker) are split by the TRC
// reader itself: there a run of tabs is NOT one separator.

/**
 * A text file's bytes as a string, without the UTF-8 byte-order mark that Windows tools put first
 * (Excel's "CSV UTF-8", Notepad, .NET writers): left in, it becomes part of the first keyword, so
 * "PathFileType" or a JSON document would no longer be recognised.
 */
export const decodeText = (bytes: Uint8Array): string => new TextDecoder('utf-8').decode(bytes);

export type Delimiter = 'comma' | 'semicolon' | 'whitespace';

/**
 * A table's delimiter from its header (or first) line, quoted text aside: semicolons where there are
 * at least as many as commas (spreadsheets in locales whose decimal mark is the comma save "CSV" that
 * way, `t;root_x` over `0,0167;0,912`), else commas if any, else whitespace.
 */
export function delimiterOf(line: string): Delimiter {
  const bare = line.replace(/"[^"]*"/g, '');
  const semis = bare.split(';').length - 1;
  const commas = bare.split(',').length - 1;
  return semis > 0 && semis >= commas ? 'semicolon' : commas > 0 ? 'comma' : 'whitespace';
}

/** Fields of a whitespace-delimited line: runs of whitespace separate, ends ignored. */
export function splitWhitespace(line: string): string[] {
  const t = line.trim();
  return t === '' ? [] : t.split(/\s+/);
}

/**
 * Fields of a comma- or semicolon-separated line (RFC 4180 quoting: R's write.csv quotes every
 * string, pandas any cell holding the delimiter; `""` is a quote inside one). Unquoted cells are
 * trimmed; one trailing unquoted empty field (a trailing delimiter) is dropped.
 */
export function splitDelimited(line: string, sep: ',' | ';'): string[] {
  if (line.trim() === '') return [];
  const cells: string[] = [];
  let cell = '';
  let quoted = false; // this cell had quotes
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] ?? '';
    if (inQuotes) {
      if (ch !== '"') cell += ch;
      else if (line[i + 1] === '"') {
        cell += '"';
        i++;
      } else inQuotes = false;
    } else if (ch === '"' && !quoted && cell.trim() === '') {
      inQuotes = true;
      quoted = true;
      cell = '';
    } else if (ch === sep) {
      cells.push(quoted ? cell : cell.trim());
      cell = '';
      quoted = false;
    } else if (!quoted) cell += ch; // text after a closing quote (blanks) is not part of the cell
  }
  if (quoted || cell.trim() !== '' || cells.length === 0) cells.push(quoted ? cell : cell.trim());
  return cells;
}

/** Fields of a comma-separated line, each trimmed; one trailing comma adds no field. */
export const splitComma = (line: string): string[] => splitDelimited(line, ',');

export const splitFields = (line: string, delimiter: Delimiter): string[] =>
  delimiter === 'whitespace' ? splitWhitespace(line) : splitDelimited(line, delimiter === 'comma' ? ',' : ';');

/** Missing values as writers spell them: empty (pandas), NaN/nan (numpy, MATLAB), -nan (C), NA (R), #N/A (Excel). */
const MISSING = /^(?:[+-]?nan|na|n\/a|#n\/a)?$/i;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DECIMAL_COMMA = /^[+-]?(?:\d+,?\d*|,\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The decimal mark of a table's number cells: ',' only in semicolon tables and only when no cell has
 * a '.'. Cells with both marks, or both marks in one table, are refused (`null`): `1.234` may then be
 * a thousands separator, and no reading of it is safe.
 */
export function decimalMark(cells: Iterable<string>, delimiter: Delimiter): '.' | ',' | null {
  if (delimiter !== 'semicolon') return '.';
  let comma = false;
  let dot = false;
  for (const c of cells) {
    if (c.includes(',') && DECIMAL_COMMA.test(c)) comma = true;
    else if (c.includes('.') && DECIMAL.test(c)) dot = true;
    if (c.includes(',') && c.includes('.') && /^[+-]?[\d.,]+$/.test(c)) return null;
  }
  return comma && dot ? null : comma ? ',' : '.';
}

/** A number cell: its value, NaN for a missing-value spelling, undefined for anything else. */
export function parseNumber(cell: string, mark: '.' | ',' = '.'): number | undefined {
  const c = cell.trim();
  if (MISSING.test(c)) return NaN;
  if (mark === ',' ? !DECIMAL_COMMA.test(c) : !DECIMAL.test(c)) return undefined;
  return Number(mark === ',' ? c.replace(',', '.') : c);
}
