import { defineConfig } from "vitest/config";

const API_TARGET = "http://127.0.0.1:8080";

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
      "/api": {
        target: API_TARGET,
        ws: true,
        // The server accepts browser requests (and the signaling WebSocket) only from its own
        // origin; through the dev server the page's origin is Vite's, so present the server's.
        configure: (proxy) => {
          proxy.on("proxyReq", (req) => {
            if (req.getHeader("origin")) req.setHeader("origin", API_TARGET);
          });
          proxy.on("proxyReqWs", (req) => {
            req.setHeader("origin", API_TARGET);
          });
        },
      },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
    setupFiles: ["src/i18n/test-setup.ts"],
  },
});
