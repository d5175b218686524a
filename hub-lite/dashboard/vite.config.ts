// Builds the dashboard into dist/, which hub-lite embeds (hub-lite/src/assets.rs). Relative asset
// paths so the page works under any prefix; no external resources.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
