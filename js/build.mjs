// Bundles every src/*.ts entry (one per widget, and the loader every widget's _esm is)
// into ../replicate_widgets/static/, and every src/parts/*.ts (code a view loads on
// demand) into static/parts/. Views are imported from Blob URLs (shared/loader.ts), so
// each file must be one self-contained ESM file: no relative imports at run time and no
// CDN imports (the widgets must work offline).
import { readdirSync } from "node:fs";
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const entries = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => `${dir}/${f}`);
const entryPoints = [...entries("src"), ...entries("src/parts")];

const options = {
  entryPoints,
  bundle: true,
  format: "esm",
  target: "es2020",
  outdir: "../replicate_widgets/static",
  outbase: "src",
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  loader: { ".css": "text" },
  logLevel: "info",
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
