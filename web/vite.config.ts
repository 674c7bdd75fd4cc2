import { defineConfig } from "vitest/config";

// The built client is served by the Python server from src/convene/static (see `npm run build`).
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "../src/convene/static",
    emptyOutDir: true,
    target: ["es2020", "safari14"],
    sourcemap: true,
    chunkSizeWarningLimit: 200,
  },
  server: {
    port: 5173,
    proxy: {
      "/api": { target: "http://127.0.0.1:8080", ws: true },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
