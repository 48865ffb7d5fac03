// Keeps @kubernetes/client-node's generated API out of the process. client-node's KubeConfig
// module imports the package's generated index (every model and API class: 24 MB of
// JavaScript, about 37 MiB of the process's resident size once loaded) for two names only,
// createConfiguration and ServerConfiguration. The operator uses KubeConfig and the client's
// lower-level request context (client.ts, watch.ts), never a generated class, so this resolve hook
// answers that one import with a module of just those two names. main.ts registers it before
// anything loads client-node; elsewhere (tests run the operator in-process) the full index loads
// and nothing else differs. Should a later client-node import more names from there, the process
// fails at start-up with a SyntaxError naming the missing export, and the test of this module
// (test/unit/lean-client-node.test.ts) fails first.
import { registerHooks } from "node:module";

/** What client-node's config.js imports from "./gen/index.js". */
export const GENERATED_NAMES = { createConfiguration: "./gen/configuration.js", ServerConfiguration: "./gen/servers.js" };

/** The stand-in for the generated index, when `parentURL` is client-node's config.js importing it. */
export function leanIndex(specifier: string, parentURL: string | undefined): string | undefined {
  if (specifier !== "./gen/index.js" || !parentURL?.endsWith("/@kubernetes/client-node/dist/config.js")) return undefined;
  const source = Object.entries(GENERATED_NAMES)
    .map(([name, file]) => `export { ${name} } from ${JSON.stringify(new URL(file, parentURL).href)};`)
    .join("\n");
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

export function register(): void {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const url = leanIndex(specifier, context.parentURL);
      return url ? { url, format: "module", shortCircuit: true } : nextResolve(specifier, context);
    },
  });
}
