import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// Tauri loads ui/dist from a custom protocol, so every asset URL is relative.
export default defineConfig({
  base: "./",
  plugins: [react()],
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: "dist",
    target: "es2022",
    sourcemap: false,
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
    // Whole-app tests wait for UI updates; give slow CI machines room.
    testTimeout: 20_000,
  },
});
