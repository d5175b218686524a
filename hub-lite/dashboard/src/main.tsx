/** Entry point: mounts the dashboard. */
import { render } from "preact";
import { App } from "./components/App.tsx";
import "./protocols/index.ts";
import "./styles.css";

const root = document.getElementById("app");
if (root) render(<App />, root);
