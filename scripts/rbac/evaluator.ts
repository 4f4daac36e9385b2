// The static evaluator of kube-calls.ts: which strings an expression of the scanned
// source can be (a resource path, a plural, a verb), through constants, object literals,
// template literals, small path-building functions and literal types. '{}' stands for a
// part that cannot be known (a namespace, a name).
import ts from 'typescript';

const MAX_VALUES = 64;

/** Resolves expressions to the strings they can be, statically; '{}' stands for a part that cannot be known (a namespace, a name). */
export class Evaluator {
  constructor(private readonly checker: ts.TypeChecker) {}

  /** Every string `e` may be; undefined when unknown. */
  strings(e: ts.Expression, depth = 0): string[] | undefined {
    if (depth > 12) return undefined;
    e = unwrap(e);
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return [e.text];
    if (ts.isTemplateExpression(e)) {
      let acc = [e.head.text];
      for (const span of e.templateSpans) {
        const vals = this.strings(span.expression, depth + 1) ?? ['{}'];
        acc = acc.flatMap((a) => vals.map((v) => a + v + span.literal.text)).slice(0, MAX_VALUES);
      }
      return acc;
    }
    if (ts.isConditionalExpression(e)) return this.union(this.strings(e.whenTrue, depth + 1), this.strings(e.whenFalse, depth + 1));
    if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) {
      const l = this.strings(e.left, depth + 1) ?? ['{}'];
      const r = this.strings(e.right, depth + 1) ?? ['{}'];
      return l.flatMap((a) => r.map((b) => a + b)).slice(0, MAX_VALUES);
    }
    if (ts.isBinaryExpression(e) && (e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken || e.operatorToken.kind === ts.SyntaxKind.BarBarToken)) {
      return this.union(this.strings(e.left, depth + 1), this.strings(e.right, depth + 1));
    }
    if (ts.isCallExpression(e)) {
      // encodeURIComponent(x) in a path: x encoded, its unknown parts left unknown.
      if (ts.isIdentifier(e.expression) && e.expression.text === 'encodeURIComponent' && e.arguments.length === 1) {
        return (this.strings(e.arguments[0]!, depth + 1) ?? ['{}']).map((v) => v.split('{}').map(encodeURIComponent).join('{}'));
      }
      const fn = this.functionOf(e.expression);
      if (fn) return this.returns(fn, depth + 1);
      return undefined;
    }
    const inits = this.initializers(e, depth);
    if (inits) {
      let out: string[] = [];
      for (const i of inits) {
        const v = this.strings(i, depth + 1);
        if (!v) return this.fromType(e);
        out = out.concat(v);
      }
      return [...new Set(out)].slice(0, MAX_VALUES);
    }
    return this.fromType(e);
  }

  /** The strings property `name` of the object `e` may hold. */
  prop(e: ts.Expression, name: string, depth = 0): string[] | undefined {
    if (depth > 12) return undefined;
    e = unwrap(e);
    const objects = this.objectLiterals(e, depth);
    if (objects) {
      const out: string[] = [];
      for (const o of objects) {
        const v = this.propOfLiteral(o, name, depth);
        if (!v) return this.propFromType(e, name);
        out.push(...v);
      }
      return [...new Set(out)];
    }
    return this.propFromType(e, name);
  }

  /** The combinations of properties `names` the object `e` may hold, object by object (never mixing two objects' values). */
  records(e: ts.Expression, names: readonly string[], depth = 0): Array<Record<string, string>> | undefined {
    // A type that pairs the values exactly (a union of objects with literal properties) wins;
    // each level of `x as T` is tried, outermost first.
    for (let level: ts.Expression = e; ; ) {
      const typed = this.recordsFromType(level, names);
      if (typed) return typed;
      if (ts.isAsExpression(level) || ts.isParenthesizedExpression(level) || ts.isSatisfiesExpression(level) || ts.isNonNullExpression(level)) level = level.expression;
      else break;
    }
    const original = e;
    e = unwrap(e);
    const objects = this.objectLiterals(e, depth);
    const combine = (per: Array<string[] | undefined>): Array<Record<string, string>> | undefined => {
      if (per.some((v) => !v)) return undefined;
      let acc: Array<Record<string, string>> = [{}];
      per.forEach((vals, i) => (acc = acc.flatMap((a) => vals!.map((v) => ({ ...a, [names[i]!]: v })))));
      return acc;
    };
    if (objects) {
      const out: Array<Record<string, string>> = [];
      for (const o of objects) {
        const r = combine(names.map((n) => this.propOfLiteral(o, n, depth)));
        if (!r) return this.recordsFromType(original, names);
        out.push(...r);
      }
      return out;
    }
    return this.recordsFromType(original, names);
  }

  private recordsFromType(e: ts.Expression, names: readonly string[]): Array<Record<string, string>> | undefined {
    const t = this.checker.getTypeAtLocation(e);
    const out: Array<Record<string, string>> = [];
    for (const member of t.isUnion() ? t.types : [t]) {
      let acc: Array<Record<string, string>> = [{}];
      for (const n of names) {
        const p = member.getProperty(n);
        const vals = p && literalStrings(this.checker.getTypeOfSymbolAtLocation(p, e));
        if (!vals) return undefined;
        acc = acc.flatMap((a) => vals.map((v) => ({ ...a, [n]: v })));
      }
      out.push(...acc);
    }
    return out;
  }

  private propOfLiteral(o: ts.ObjectLiteralExpression, name: string, depth: number): string[] | undefined {
    for (const p of [...o.properties].reverse()) {
      if (ts.isPropertyAssignment(p) && propName(p.name) === name) return this.strings(p.initializer, depth + 1);
      if (ts.isShorthandPropertyAssignment(p) && p.name.text === name) return this.strings(p.name, depth + 1);
      if (ts.isSpreadAssignment(p)) {
        const v = this.prop(p.expression, name, depth + 1);
        if (v) return v;
      }
    }
    return undefined;
  }

  /** The object literals `e` may be: itself, a constant's, a property of one, any element of one. */
  private objectLiterals(e: ts.Expression, depth: number): ts.ObjectLiteralExpression[] | undefined {
    if (depth > 12) return undefined;
    e = unwrap(e);
    if (ts.isObjectLiteralExpression(e)) return [e];
    if (ts.isPropertyAccessExpression(e)) {
      const parents = this.objectLiterals(e.expression, depth + 1);
      const p = parents?.flatMap((o) => o.properties.filter((x): x is ts.PropertyAssignment => ts.isPropertyAssignment(x) && propName(x.name) === e.name.text));
      if (p && p.length > 0) return this.flat(p.map((x) => this.objectLiterals(x.initializer, depth + 1)));
    }
    if (ts.isElementAccessExpression(e)) {
      const parents = this.objectLiterals(e.expression, depth + 1);
      const key = this.strings(e.argumentExpression, depth + 1);
      const p = parents?.flatMap((o) => o.properties.filter((x): x is ts.PropertyAssignment => ts.isPropertyAssignment(x) && (!key || key.includes(propName(x.name) ?? ''))));
      if (p && p.length > 0) return this.flat(p.map((x) => this.objectLiterals(x.initializer, depth + 1)));
    }
    if (ts.isCallExpression(e)) {
      const fn = this.functionOf(e.expression);
      if (fn) return this.flat(returnExpressions(fn).map((r) => this.objectLiterals(r, depth + 1)));
    }
    const inits = this.initializers(e, depth);
    return inits ? this.flat(inits.map((i) => this.objectLiterals(i, depth + 1))) : undefined;
  }

  private flat(lists: Array<ts.ObjectLiteralExpression[] | undefined>): ts.ObjectLiteralExpression[] | undefined {
    return lists.some((l) => !l) ? undefined : lists.flatMap((l) => l!);
  }

  /** What `e` may be initialized with: a const variable's initializer, or the properties of a const object it reads (all of them for an unknown key). */
  private initializers(e: ts.Expression, depth: number): ts.Expression[] | undefined {
    if (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) {
      const objs = this.objectLiterals(e.expression, depth + 1);
      const key = ts.isPropertyAccessExpression(e) ? [e.name.text] : this.strings(e.argumentExpression, depth + 1);
      const props = objs?.flatMap((o) => o.properties.filter((x): x is ts.PropertyAssignment => ts.isPropertyAssignment(x) && (!key || key.includes(propName(x.name) ?? ''))));
      return props && props.length > 0 ? props.map((p) => p.initializer) : undefined;
    }
    if (!ts.isIdentifier(e)) return undefined;
    let sym = this.checker.getSymbolAtLocation(e);
    if (sym && sym.flags & ts.SymbolFlags.Alias) sym = this.checker.getAliasedSymbol(sym);
    const decl = sym?.valueDeclaration;
    if (decl && ts.isVariableDeclaration(decl) && decl.initializer && ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) return [decl.initializer];
    return undefined;
  }

  private functionOf(e: ts.Expression): ts.SignatureDeclaration | undefined {
    let sym = this.checker.getSymbolAtLocation(ts.isPropertyAccessExpression(e) ? e.name : e);
    if (sym && sym.flags & ts.SymbolFlags.Alias) sym = this.checker.getAliasedSymbol(sym);
    const decl = sym?.valueDeclaration;
    if (!decl || decl.getSourceFile().isDeclarationFile) return undefined;
    if (ts.isFunctionDeclaration(decl)) return decl;
    if (ts.isVariableDeclaration(decl) && decl.initializer && (ts.isArrowFunction(decl.initializer) || ts.isFunctionExpression(decl.initializer))) return decl.initializer;
    return undefined;
  }

  private returns(fn: ts.SignatureDeclaration, depth: number): string[] | undefined {
    const exprs = returnExpressions(fn);
    if (exprs.length === 0) return undefined;
    let out: string[] = [];
    for (const r of exprs) {
      const v = this.strings(r, depth + 1);
      if (!v) return undefined;
      out = out.concat(v);
    }
    return [...new Set(out)].slice(0, MAX_VALUES);
  }

  private union(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
    return a && b ? [...new Set([...a, ...b])] : undefined;
  }

  private fromType(e: ts.Expression): string[] | undefined {
    return literalStrings(this.checker.getTypeAtLocation(e));
  }

  private propFromType(e: ts.Expression, name: string): string[] | undefined {
    const t = this.checker.getTypeAtLocation(e);
    const types = t.isUnion() ? t.types : [t];
    const out: string[] = [];
    for (const member of types) {
      const p = member.getProperty(name);
      if (!p) return undefined;
      const v = literalStrings(this.checker.getTypeOfSymbolAtLocation(p, e));
      if (!v) return undefined;
      out.push(...v);
    }
    return [...new Set(out)];
  }
}

function literalStrings(t: ts.Type): string[] | undefined {
  const parts = t.isUnion() ? t.types : [t];
  const out: string[] = [];
  for (const p of parts) {
    if (p.isStringLiteral()) out.push(p.value);
    else if (p.flags & ts.TypeFlags.Undefined) continue;
    else return undefined;
  }
  return out.length > 0 ? out : undefined;
}

export function unwrap(e: ts.Expression): ts.Expression {
  while (ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isParenthesizedExpression(e) || ts.isNonNullExpression(e) || ts.isTypeAssertionExpression(e)) e = e.expression;
  return e;
}

function propName(n: ts.PropertyName): string | undefined {
  return ts.isIdentifier(n) || ts.isStringLiteral(n) || ts.isNumericLiteral(n) ? n.text : undefined;
}

function returnExpressions(fn: ts.SignatureDeclaration): ts.Expression[] {
  const body = (fn as ts.FunctionLikeDeclaration).body;
  if (!body) return [];
  if (!ts.isBlock(body)) return [body];
  const out: ts.Expression[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isReturnStatement(n) && n.expression) out.push(n.expression);
    if (ts.isFunctionLike(n)) return;
    ts.forEachChild(n, visit);
  };
  ts.forEachChild(body, visit);
  return out;
}
