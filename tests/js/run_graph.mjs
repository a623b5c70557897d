// Runs one ONNX file with the live Draw's interpreter (components/live_draw/tinyonnx.mjs), for tests/test_tinyonnx.py:
//   node tests/js/run_graph.mjs MODEL.onnx INPUT.f32 N,C,H,W OUTPUT.f32
// The input and output are raw little-endian float32; the output's shape goes to stdout as JSON.
import { readFileSync, writeFileSync } from "node:fs";
import { Graph } from "../../components/live_draw/tinyonnx.mjs";

const [model, input, dims, output] = process.argv.slice(2);
let graph;
try {
  graph = new Graph(readFileSync(model));
} catch (err) {
  console.error(`${err.name}: ${err.message}`); // one line: what the test reads
  process.exit(1);
}
const bytes = readFileSync(input);
const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const result = graph.run({ [graph.inputNames[0]]: { data, dims: dims.split(",").map(Number) } })[graph.outputNames[0]];
writeFileSync(output, Buffer.from(result.data.buffer, result.data.byteOffset, result.data.byteLength));
console.log(JSON.stringify(result.dims));
