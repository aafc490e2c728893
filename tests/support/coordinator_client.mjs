// CoordinatorService from Node.js: @grpc/grpc-js with the .proto loaded at run
// time by @grpc/proto-loader (no generated JavaScript). Shared by the e2e test
// client (tests/e2e/node_client.mjs) and the gRPC load generator
// (bench/grpc_load.mjs).
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(path.join(repo, "tools", "package.json"));
export const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

/** A CoordinatorService client connected (lazily) to `address` without TLS. */
export function coordinatorClient(address) {
  const definition = protoLoader.loadSync("mcpcoordinator/v1/coordinator.proto", {
    includeDirs: [path.join(repo, "proto")],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const { CoordinatorService } = grpc.loadPackageDefinition(definition).mcpcoordinator.v1;
  return new CoordinatorService(address, grpc.credentials.createInsecure());
}

/** One unary call with a deadline; resolves to the response, rejects with the gRPC error. */
export function unary(client, method, request, metadata, deadlineMs = 10_000) {
  return new Promise((resolve, reject) => {
    client[method](
      request,
      metadata ?? new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (error, response) => (error ? reject(error) : resolve(response)),
    );
  });
}

// proto-loader serves the well-known types (Struct, Value, ListValue) with
// camelCase field names, whatever keepCase says.
export function toStruct(object) {
  return { fields: Object.fromEntries(Object.entries(object).map(([k, v]) => [k, toValue(v)])) };
}

export function toValue(value) {
  if (value === null) return { nullValue: "NULL_VALUE" };
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  switch (typeof value) {
    case "number":
      return { numberValue: value };
    case "string":
      return { stringValue: value };
    case "boolean":
      return { boolValue: value };
    case "object":
      return { structValue: toStruct(value) };
    default:
      throw new Error(`cannot encode ${typeof value} as google.protobuf.Value`);
  }
}

export function fromStruct(struct) {
  return Object.fromEntries(
    Object.entries(struct?.fields ?? {}).map(([k, v]) => [k, fromValue(v)]),
  );
}

// With `oneofs: true` the decoded Value names its set member in `kind`.
export function fromValue(value) {
  if (value == null) return null;
  switch (value.kind) {
    case "nullValue":
      return null;
    case "numberValue":
      return value.numberValue;
    case "stringValue":
      return value.stringValue;
    case "boolValue":
      return value.boolValue;
    case "structValue":
      return fromStruct(value.structValue);
    case "listValue":
      return (value.listValue?.values ?? []).map(fromValue);
    default:
      throw new Error(`unexpected google.protobuf.Value: ${JSON.stringify(value)}`);
  }
}

// The RouteRequest / AggregateRequest fields that are google.protobuf.Struct.
const STRUCT_FIELDS = new Set(["context", "arguments", "params"]);

/** A request message from its proto3 JSON form (snake_case fields, plain JSON Structs). */
export function fromJson(json) {
  return Object.fromEntries(
    Object.entries(json).map(([k, v]) => [k, STRUCT_FIELDS.has(k) ? toStruct(v) : v]),
  );
}
