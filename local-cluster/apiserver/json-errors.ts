// Where a JSON text goes wrong. JSON.parse's messages do not always carry a position
// (V8 quotes a snippet instead), so a request that fails to parse is scanned again here,
// only then, to tell the user the line and column. Pure.

export interface JsonSyntaxError {
  offset: number;
  line: number;
  column: number;
  message: string;
}

class Stop extends Error {
  constructor(
    readonly at: number,
    readonly why: string,
  ) {
    super(why);
  }
}

function scan(text: string): void {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const describe = (): string => (i >= text.length ? 'end of input' : `character ${JSON.stringify(text[i])}`);
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') throw new Stop(i, `unexpected ${describe()} looking for beginning of object key string`);
        string();
        ws();
        if (text[i] !== ':') throw new Stop(i, `unexpected ${describe()} after object key`);
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        throw new Stop(i, `unexpected ${describe()} after object key:value pair`);
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        throw new Stop(i, `unexpected ${describe()} after array element`);
      }
    } else if (c === '"') {
      string();
    } else if (c !== undefined && /[-0-9]/.test(c)) {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      if (!m) throw new Stop(i, `invalid number`);
      i += m[0].length;
    } else {
      for (const lit of ['true', 'false', 'null']) {
        if (text.startsWith(lit, i)) {
          i += lit.length;
          return;
        }
      }
      throw new Stop(i, `unexpected ${describe()} looking for beginning of value`);
    }
  };
  const string = (): void => {
    const start = i;
    i++;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const n = text[i + 1];
        if (n === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Stop(i, 'invalid \\u escape in string');
          i += 6;
        } else if (n !== undefined && '"\\/bfnrt'.includes(n)) {
          i += 2;
        } else {
          throw new Stop(i, 'invalid escape in string');
        }
        continue;
      }
      if (c < ' ') throw new Stop(i, 'invalid control character in string literal');
      i++;
    }
    throw new Stop(start, 'unterminated string');
  };
  value();
  ws();
  if (i < text.length) throw new Stop(i, `unexpected ${describe()} after top-level value`);
}

/** The first syntax error in `text`, or undefined when it is valid JSON. */
export function locateJsonError(text: string): JsonSyntaxError | undefined {
  try {
    scan(text);
    return undefined;
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    const before = text.slice(0, err.at);
    const line = before.split('\n').length;
    const column = err.at - (before.lastIndexOf('\n') + 1) + 1;
    return { offset: err.at, line, column, message: err.why };
  }
}

/** Parses JSON, or throws an Error whose message says where and why it is not JSON. */
export function parseJsonOrExplain(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const where = locateJsonError(text);
    if (!where) throw err;
    throw new Error(`${where.message} at line ${where.line}, column ${where.column} (offset ${where.offset})`);
  }
}
