// Request bodies: JSON Schemas that Fastify validates before a handler runs, and their TypeScript shapes.
// The client batch size is not a schema bound: over it is 413 (too large), not 400 (malformed).

const text = { type: "string", minLength: 1 } as const;
const texts = { anyOf: [text, { type: "array", minItems: 1, items: text }] } as const;

export interface OpenAiEmbeddingsBody {
  /** An adapter, or "base"; omitted (an extension of OpenAI's API): the model's default adapter, as /embed and the CLI. */
  model?: string;
  input: string | string[];
  encoding_format: "float" | "base64";
  /** An extension, as TEI has it: unit vectors (default false, so vectors equal the library's). */
  normalize: boolean;
  user?: string;
}

export const openAiEmbeddingsSchema = {
  type: "object",
  required: ["input"],
  additionalProperties: false,
  properties: {
    model: text,
    input: texts,
    encoding_format: { enum: ["float", "base64"], default: "float" },
    normalize: { type: "boolean", default: false },
    user: { type: "string" }, // accepted for compatibility; unused
  },
} as const;

export interface PaperBody {
  title?: string;
  abstract?: string | null;
}

export interface TeiEmbedBody {
  inputs?: string | string[];
  papers?: PaperBody[];
  adapter?: string;
  truncate: boolean;
  normalize: boolean;
}

export const teiEmbedSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    inputs: texts,
    papers: {
      type: "array",
      minItems: 1,
      // Extra fields (paper_id, …) are allowed so records can be sent as they are stored.
      items: {
        type: "object",
        properties: { title: { type: "string" }, abstract: { type: ["string", "null"] } },
        anyOf: [{ required: ["title"] }, { required: ["abstract"] }],
      },
    },
    adapter: text,
    truncate: { type: "boolean", default: true },
    normalize: { type: "boolean", default: false },
  },
} as const;

export interface RankBody {
  query: string;
  papers: (PaperBody & { id?: string | number })[];
  query_adapter?: string;
  paper_adapter?: string;
  top_k?: number;
  truncate: boolean;
}

export const rankSchema = {
  type: "object",
  required: ["query", "papers"],
  additionalProperties: false,
  properties: {
    query: text,
    papers: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        properties: { id: { type: ["string", "integer"] }, title: { type: "string" }, abstract: { type: ["string", "null"] } },
        anyOf: [{ required: ["title"] }, { required: ["abstract"] }],
      },
    },
    query_adapter: text,
    paper_adapter: text,
    top_k: { type: "integer", minimum: 1 },
    truncate: { type: "boolean", default: true },
  },
} as const;

export interface TokenizeBody {
  inputs: string | string[];
  add_special_tokens: boolean;
}

export const tokenizeSchema = {
  type: "object",
  required: ["inputs"],
  additionalProperties: false,
  properties: {
    inputs: texts,
    add_special_tokens: { type: "boolean", default: true },
  },
} as const;
