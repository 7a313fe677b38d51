// Bundles every src/*.ts entry (one per widget) into ../replicate_widgets/static/.
// anywidget loads _esm from a Blob URL, so each entry must be one self-contained ESM file:
// no relative imports at run time and no CDN imports (the widgets must work offline).
import { readdirSync } from "node:fs";
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const entryPoints = readdirSync("src")
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
  .map((f) => `src/${f}`);

const options = {
  entryPoints,
  bundle: true,
  format: "esm",
  target: "es2020",
  outdir: "../replicate_widgets/static",
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
