// Entry point: the module hook that keeps client-node's generated API out of the process
// (kube/lean-client-node.ts), registered before anything imports client-node, then the operator
// (run.ts) until SIGTERM/SIGINT.
import { register } from "./kube/lean-client-node.ts";

register();
await import("./run.ts");
