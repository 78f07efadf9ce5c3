#!/usr/bin/env node
// Generates apps/api/src/generated/swagger-metadata.ts: what @nestjs/swagger's CLI plugin knows
// from the TypeScript types of the DTOs (response classes, nullable unions, string-literal enums,
// class-validator limits, doc comments) and of the controllers (each method's return type).
// The app loads it with SwaggerModule.loadPluginMetadata, so the built app and the tests (which
// run under @swc/jest, where no TypeScript compiler plugin runs) serve the same document.
// It is generated, never committed: `npm run build` (prebuild) and the e2e global setup run this.
//   --if-stale   do nothing when the file is newer than every source file
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'apps', 'api', 'src', 'generated');
const outFile = join(outDir, 'swagger-metadata.ts');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (p !== outDir) newest = Math.max(newest, newestSource(p));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
      newest = Math.max(newest, statSync(p).mtimeMs);
    }
  }
  return newest;
}

if (process.argv.includes('--if-stale') && existsSync(outFile)) {
  const sources = Math.max(newestSource(join(root, 'apps')), newestSource(join(root, 'libs')));
  if (statSync(outFile).mtimeMs >= sources) process.exit(0);
}

const { PluginMetadataGenerator } = await import('@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator.js');
const { ReadonlyVisitor } = await import('@nestjs/swagger/plugin');

// Written beside the final file (the imports in it are relative to pathToSource), then renamed:
// two runs at once never leave a half-written file.
const tmpDir = join(outDir, `.tmp-${process.pid}`);
mkdirSync(tmpDir, { recursive: true });
const started = Date.now();
try {
  process.chdir(root);
  new PluginMetadataGenerator().generate({
    visitors: [
      new ReadonlyVisitor({
        pathToSource: outDir,
        introspectComments: true,
        classValidatorShim: true,
        // Request DTOs (*.dto.ts, *.query.ts) and response mappers (*response.ts).
        dtoFileNameSuffix: ['.dto.ts', '.query.ts', 'response.ts'],
        controllerFileNameSuffix: ['.controller.ts'],
      }),
    ],
    outputDir: tmpDir,
    filename: 'swagger-metadata.ts',
    tsconfigPath: 'tsconfig.build.json',
    printDiagnostics: false,
  });
  // Type imports through the path aliases (@torgovo/plans) become relative paths: the compiled
  // app resolves aliases only in static imports, and this file imports dynamically.
  const text = readFileSync(join(tmpDir, 'swagger-metadata.ts'), 'utf8').replace(
    /(["'])@torgovo\/([a-z-]+)(\/[^"']*)?\1/g,
    (_m, q, lib, sub) => `${q}../../../../libs/${lib}/src${sub ?? ''}${q}`,
  );
  // Unchanged content keeps the old file (and its mtime): no needless rebuilds.
  if (!existsSync(outFile) || readFileSync(outFile, 'utf8') !== text) {
    writeFileSync(join(tmpDir, 'final.ts'), text);
    renameSync(join(tmpDir, 'final.ts'), outFile);
  } else {
    // Same content: only touch it, for the --if-stale check (the build ignores generated/).
    utimesSync(outFile, new Date(), new Date());
  }
  console.log(`swagger metadata: ${outFile} (${Date.now() - started} ms)`);
} finally {
  rmSync(tmpDir, { recursive: true, force: true });
}
