import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** What loading `entries` loads at run time: local files reached through value imports, and the packages they name. */
export interface ImportGraph {
  files: Set<string>;
  packages: Set<string>;
}

/**
 * Follows the static value imports (and re-exports) of TypeScript files from `entries`; type-only
 * imports are left out, as the compiler drops them, and so are `require()` calls, which load lazily.
 */
export function runtimeImports(entries: string[]): ImportGraph {
  const graph: ImportGraph = { files: new Set(), packages: new Set() };
  const pending = entries.map((entry) => path.resolve(entry));
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (graph.files.has(file)) continue;
    graph.files.add(file);
    for (const specifier of valueImports(file)) {
      if (!specifier.startsWith('.')) {
        graph.packages.add(specifier);
        continue;
      }
      pending.push(resolveLocal(path.resolve(path.dirname(file), specifier), file));
    }
  }
  return graph;
}

function valueImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      if (!isTypeOnlyImport(statement.importClause)) specifiers.push(statement.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
      const clause = statement.exportClause;
      const allTypes = clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((element) => element.isTypeOnly);
      if (!statement.isTypeOnly && !allTypes) specifiers.push(statement.moduleSpecifier.text);
    }
  }
  return specifiers;
}

function isTypeOnlyImport(clause: ts.ImportClause | undefined): boolean {
  if (clause === undefined) return false; // `import 'x'`: for its effects
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((element) => element.isTypeOnly);
}

function resolveLocal(target: string, from: string): string {
  for (const candidate of [`${target}.ts`, path.join(target, 'index.ts'), target]) {
    if (existsSync(candidate) && candidate.endsWith('.ts')) return candidate;
  }
  throw new Error(`${from} imports ${target}, which is no TypeScript file`);
}
