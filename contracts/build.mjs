#!/usr/bin/env node
// Compiles contracts/src/*.sol with the pinned solcjs from Atoll's tool cache and writes
// contracts/artifacts/<Contract>.json (abi, bytecode, deployedBytecode).
//
//   node contracts/build.mjs           regenerate the artifacts
//   node contracts/build.mjs --check   exit 1, naming each file, when the committed artifacts
//                                      differ from what the sources compile to
//
// The tool cache is $ATOLL_HOME/node/<hash of tools/package-lock.json> (ATOLL_HOME defaults to
// ~/.cache/atoll); `atoll tools install` fills it.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = dirname(here);
const check = process.argv.includes("--check");

const lock = readFileSync(join(repo, "tools", "package-lock.json"));
const lockHash = createHash("sha256").update(lock).digest("hex").slice(0, 16);
const atollHome = process.env.ATOLL_HOME || join(homedir(), ".cache", "atoll");
const toolsDir = join(atollHome, "node", lockHash);
if (!existsSync(join(toolsDir, "node_modules", "solc"))) {
  console.error(`solc is not installed in ${toolsDir}: run \`atoll tools install\` (or scripts/test.sh) first`);
  process.exit(2);
}
const solc = createRequire(join(toolsDir, "package.json"))("solc");

const srcDir = join(here, "src");
const sources = {};
for (const file of readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[file] = { content: readFileSync(join(srcDir, file), "utf8") };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};

function findImports(path) {
  const p = join(srcDir, path);
  return existsSync(p) ? { contents: readFileSync(p, "utf8") } : { error: `not found: ${path}` };
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);

const deployable = ["BridgeVault", "CometDouble", "CometRewardsDouble", "TestToken", "V3PoolDriver"];
let stale = 0;
for (const [file, contracts] of Object.entries(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    if (!deployable.includes(name)) continue;
    const artifact = {
      contractName: name,
      sourceName: `contracts/src/${file}`,
      compiler: `solc ${solc.version()}`,
      settings: { optimizer: input.settings.optimizer, evmVersion: input.settings.evmVersion },
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
    const text = JSON.stringify(artifact, null, 2) + "\n";
    const out = join(here, "artifacts", `${name}.json`);
    if (check) {
      const current = existsSync(out) ? readFileSync(out, "utf8") : "";
      if (current !== text) {
        console.error(`stale artifact: contracts/artifacts/${name}.json differs from contracts/src/${file}; run \`node contracts/build.mjs\``);
        stale++;
      }
    } else {
      writeFileSync(out, text);
      console.log(`wrote contracts/artifacts/${name}.json (${(c.evm.deployedBytecode.object.length / 2) | 0} bytes deployed)`);
    }
  }
}
if (stale > 0) process.exit(1);
if (check) console.log("contracts/artifacts match contracts/src");
