import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { isTauri } from "./ipc";
import { installTestHook } from "./testhook";
import "./styles.css";

async function start() {
  installTestHook();
  // `npm run dev` in a plain browser: an in-memory stand-in for the shell.
  if (import.meta.env.DEV && !isTauri()) {
    const { installDevBackend } = await import("./devbackend");
    installDevBackend();
  }
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

void start();
