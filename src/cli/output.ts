/** Printing results: aligned tables for people, one JSON document for programs. */
export type OutputFormat = 'table' | 'json';

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/**
 * Server-controlled text made safe for a terminal: every C0/C1 control character (ESC, BEL, CR,
 * newline, DEL, …) but a plain space becomes a visible \\uXXXX escape, so no escape sequence runs.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A cell: dates shortened to the minute (UTC), booleans as yes/no, nothing as "-". */
function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return `${value.slice(0, 10)} ${value.slice(11, 16)}`;
  return printable(String(value).replace(/\s+/g, ' '));
}

/** Aligned columns with a header row in capitals, two spaces apart. */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const grid = [columns.map((c) => c.header.toUpperCase()), ...rows.map((row) => columns.map((c) => cell(c.value(row))))];
  const widths = columns.map((_, i) => Math.max(...grid.map((line) => line[i]!.length)));
  return (
    grid
      .map((line) =>
        line
          .map((text, i) => (i === line.length - 1 ? text : text.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export class Output {
  constructor(readonly format: OutputFormat) {}

  /** Rows as a table, or the JSON value itself (an array or object) as the one document on stdout. */
  result<T>(json: unknown, rows: readonly T[], columns: readonly Column<T>[]): void {
    if (this.format === 'json') this.json(json);
    else process.stdout.write(formatTable(rows, columns));
  }

  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A message for people: always on stderr, so stdout stays clean for programs. */
  note(message: string): void {
    process.stderr.write(`${printable(message)}\n`);
  }

  /**
   * A secret the server shows once: alone on stdout in table mode (so `$(scopegate …)` captures
   * it), inside `json` in JSON mode; then the reminder on stderr.
   */
  secret(secret: string, json: unknown, reminder = true): void {
    if (this.format === 'json') this.json(json);
    else process.stdout.write(secret.endsWith('\n') ? secret : `${secret}\n`);
    if (reminder) this.note('shown once; store it now');
  }
}
