/**
 * A value as a SQL literal that PostgreSQL reads as it reads the same value sent as a parameter
 * by node-postgres (text format, type left to the statement: an untyped quoted literal is
 * resolved by its context exactly like an untyped parameter). Null when it cannot be written so
 * (an array or object, which node-postgres would convert itself, or a NUL, which a
 * simple-protocol query cannot carry: sent as a parameter it fails with 22021, as before).
 */
export function sqlLiteral(value: unknown): string | null {
  if (value === null || value === undefined) {
    return 'NULL';
  }
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else if (typeof value === 'number' || typeof value === 'bigint') {
    text = String(value);
  } else if (typeof value === 'boolean') {
    text = value ? 'true' : 'false';
  } else if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      return null;
    }
    // Our timestamps are all timestamptz: an instant in UTC is the same instant.
    text = value.toISOString();
  } else if (Buffer.isBuffer(value)) {
    text = `\\x${value.toString('hex')}`;
  } else {
    return null;
  }
  if (text.includes('\0')) {
    return null;
  }
  const quoted = `'${text.replace(/'/g, "''")}'`;
  // E'' with doubled backslashes reads the same whatever standard_conforming_strings says.
  return text.includes('\\') ? `E${quoted.replace(/\\/g, '\\\\')}` : quoted;
}

/**
 * `sql` with its `$n` parameters replaced by their values as literals (`sqlLiteral`), for a
 * simple-protocol query that carries more than one statement (a unit's last write and its
 * COMMIT in one round trip). Only for statements this server builds: `$n` must not occur in
 * their text other than as a parameter. Null when a value cannot be inlined, or when the text
 * values come to more than `maxChars` characters.
 */
export function inlineParameters(
  sql: string,
  params: readonly unknown[],
  maxChars = Infinity,
): string | null {
  const literals: string[] = [];
  let chars = 0;
  for (const param of params) {
    chars += typeof param === 'string' ? param.length : 0;
    const literal = chars > maxChars ? null : sqlLiteral(param);
    if (literal === null) {
      return null;
    }
    literals.push(literal);
  }
  let missing = false;
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    const literal = literals[Number(n) - 1];
    missing ||= literal === undefined;
    return literal ?? '';
  });
  return missing ? null : text;
}
