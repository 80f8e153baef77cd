// The catalog's queries are written once, in the SQL both backends speak, with SQLite's few
// spellings that PostgreSQL lacks rewritten here: placeholders, INSERT OR IGNORE, json_object,
// REAL, and camelCase aliases (PostgreSQL folds unquoted names to lower case).
//
// Rewriting skips string literals and quoted names, so text such as '%"as":%' stays as it is.

export interface PgQuery {
  sql: string;
  /** For `@name` parameters: the name of each `$n`, in order. Empty for `?` ones. */
  names: string[];
  /** The table an INSERT writes, when the statement is one. */
  insertInto?: string;
  returns: boolean;
}

const cache = new Map<string, PgQuery>();

/** `sql` as PostgreSQL reads it (cached: the catalog's statements are few and reused). */
export function toPostgres(sql: string): PgQuery {
  let query = cache.get(sql);
  if (!query) cache.set(sql, (query = translate(sql)));
  return query;
}

function translate(sql: string): PgQuery {
  const names: string[] = [];
  let positional = 0;
  let out = '';
  // Literals and quoted names pass unchanged; everything else is rewritten.
  const pieces = sql.split(/('(?:[^']|'')*'|"(?:[^"]|"")*")/);
  pieces.forEach((piece, i) => {
    if (i % 2 === 1) {
      out += piece;
      return;
    }
    out += piece
      .replace(/\?/g, () => `$${++positional}`)
      .replace(/@(\w+)/g, (_, name: string) => {
        let index = names.indexOf(name);
        if (index < 0) index = names.push(name) - 1;
        return `$${index + 1}`;
      })
      // Only aliases are camelCase (the schema's names are snake_case): quoted wherever they appear.
      .replace(/(?<![\w$])([a-z][a-z0-9_]*[A-Z]\w*)\b/g, '"$1"')
      .replace(/\bjson_object\s*\(/gi, 'json_build_object(')
      .replace(/\bAS\s+REAL\b/gi, 'AS DOUBLE PRECISION');
  });
  if (positional > 0 && names.length > 0) throw new Error(`a query mixes ? and @name parameters: ${sql}`);

  out = out.replace(/;\s*$/, '');
  let insertInto: string | undefined;
  const insert = /^\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+(\w+)/i.exec(out);
  if (insert) {
    insertInto = insert[2];
    if (insert[1]) {
      out = out.replace(/INSERT\s+OR\s+IGNORE\s+INTO/i, 'INSERT INTO');
      out = /\bRETURNING\b/i.test(out) ? out.replace(/\bRETURNING\b/i, 'ON CONFLICT DO NOTHING RETURNING') : `${out} ON CONFLICT DO NOTHING`;
    }
  }
  return { sql: out, names, insertInto, returns: /\bRETURNING\b/i.test(out) };
}
