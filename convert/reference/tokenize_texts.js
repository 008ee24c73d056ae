// Reference token ids for the fixture texts, from Hugging Face's tokenizer (test/helpers/hfTokenizer.ts).
// Called by make_model_fixtures.py; needs `npx tsc -p tsconfig.json` first (it loads the compiled helper).
// Usage: node convert/reference/tokenize_texts.js VOCAB MAX_LENGTH < texts.json > ids.json
const { readFileSync } = require("node:fs");
const { referenceTokenizer, referenceIds } = require("../../dist/test/helpers/hfTokenizer.js");

async function main() {
  const [vocab, maxLength] = process.argv.slice(2);
  if (!vocab || !Number.isInteger(Number(maxLength))) throw new Error("usage: tokenize_texts.js VOCAB MAX_LENGTH < texts.json");
  const texts = JSON.parse(readFileSync(0, "utf8"));
  const tokenizer = referenceTokenizer(vocab, Number(maxLength));
  const ids = [];
  for (const text of texts) ids.push(await referenceIds(tokenizer, text));
  process.stdout.write(JSON.stringify(ids));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
