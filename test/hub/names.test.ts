// What a Hub name means (src/weights/hub/repos.ts), the same for Node, the page and the CLI: SPECTER2's names of
// both variants and of the first release load a variant's base with its adapters, the named one the default; any
// other repo is planned from what it holds, or refused saying what was found.
import { parseHubName, planForName, planForRepo } from "../../src/weights/hub/repos";

describe("parseHubName", () => {
  it.each([
    ["allenai/specter2", { repo: "allenai/specter2" }],
    ["allenai/specter2@v1.0", { repo: "allenai/specter2", revision: "v1.0" }],
    ["someone/my.adapter-2_x@0123456789abcdef0123456789abcdef01234567", { repo: "someone/my.adapter-2_x", revision: "0123456789abcdef0123456789abcdef01234567" }],
  ])("%s reads as a Hub name", (text, name) => {
    expect(parseHubName(text)).toEqual(name);
  });

  it.each(["specter2", "./allenai/specter2", "a/b/c", "https://huggingface.co/allenai/specter2", "a/../b", "-x/y", "a--b/c", "/abs/path"])("%s does not", (text) => {
    expect(parseHubName(text)).toBeUndefined();
  });

  it("an empty revision after @ is an error naming an example", () => {
    expect(() => parseHubName("allenai/specter2@")).toThrow('allenai/specter2@: no revision after "@" (e.g. allenai/specter2@main');
  });
});

describe("SPECTER2's names", () => {
  const FOUR = ["proximity", "adhoc_query", "classification", "regression"];

  it("an adapter repo: the variant's base, its four adapters, the named one the default", () => {
    const plan = planForName({ repo: "allenai/specter2_adhoc_query" })!;
    expect(plan.base).toEqual({ repo: "allenai/specter2_base", revision: "main" });
    expect(plan.adapters.map((a) => a.name)).toEqual(FOUR);
    expect(plan.adapters.find((a) => a.name === "adhoc_query")).toEqual({ name: "adhoc_query", repo: "allenai/specter2_adhoc_query", revision: "main" });
    expect(plan.defaultAdapter).toBe("adhoc_query");
    expect(plan.what).toBe("SPECTER2 (original variant): its adhoc_query adapter");
  });

  it("a base repo: proximity is the default; the aug2023refresh variant's own repos", () => {
    const plan = planForName({ repo: "allenai/specter2_aug2023refresh_base" })!;
    expect(plan.base.repo).toBe("allenai/specter2_aug2023refresh_base");
    expect(plan.adapters.map((a) => a.repo)).toEqual([
      "allenai/specter2_aug2023refresh",
      "allenai/specter2_aug2023refresh_adhoc_query",
      "allenai/specter2_aug2023refresh_classification",
      "allenai/specter2_aug2023refresh_regression",
    ]);
    expect(plan.defaultAdapter).toBe("proximity");
  });

  it("the first release's names load the original variant by its current names, the named part at its pinned revision", () => {
    const plan = planForName({ repo: "allenai/spp_proximity", revision: "abc" }, { revision: "v2" })!;
    expect(plan.base).toEqual({ repo: "allenai/specter2_base", revision: "v2" });
    expect(plan.adapters.find((a) => a.name === "proximity")).toEqual({ name: "proximity", repo: "allenai/specter2", revision: "abc" });
    expect(plan.adapters.find((a) => a.name === "regression")!.revision).toBe("v2");
    expect(plan.what).toContain("by its first release's name");
    expect(planForName({ repo: "allenai/specter_plus_plus" })!.base.repo).toBe("allenai/specter2_base");
  });

  it("the adapters option picks some; the default is the named one where loaded, else the first listed", () => {
    expect(planForName({ repo: "allenai/specter2" }, { adapters: ["adhoc_query", "proximity"] })!).toMatchObject({
      adapters: [{ name: "adhoc_query" }, { name: "proximity" }],
      defaultAdapter: "proximity",
    });
    expect(planForName({ repo: "allenai/specter2" }, { adapters: ["regression"] })!.defaultAdapter).toBe("regression");
    expect(planForName({ repo: "allenai/specter2" }, { adapters: [] })!.defaultAdapter).toBeNull();
    expect(() => planForName({ repo: "allenai/specter2" }, { adapters: ["nope"] })).toThrow('unknown adapter "nope": SPECTER2\'s adapters are proximity, adhoc_query');
  });

  it("any other repo has no plan by its name alone", () => {
    expect(planForName({ repo: "someone/my-adapter" })).toBeUndefined();
  });
});

describe("any other repo, by what it holds", () => {
  it("an AdapterHub adapter: the base its adapter_config.json names, and itself, the default", () => {
    const plan = planForRepo({ repo: "someone/my-adapter", revision: "r1" }, { adapterConfig: { model_name: "allenai/specter2_base", config: {} } });
    expect(plan).toEqual({
      name: "someone/my-adapter",
      revision: "r1",
      base: { repo: "allenai/specter2_base", revision: "main" },
      adapters: [{ name: "my-adapter", repo: "someone/my-adapter", revision: "r1" }],
      defaultAdapter: "my-adapter",
      what: 'an AdapterHub adapter ("my-adapter") for allenai/specter2_base',
    });
  });

  it("an adapter whose model_name is not a Hub repository is refused, naming it", () => {
    expect(() => planForRepo({ repo: "someone/a" }, { adapterConfig: { model_name: "bert-base-uncased" } })).toThrow(
      'someone/a is an AdapterHub adapter, but its adapter_config.json names its base "bert-base-uncased", not a Hub repository owner/name',
    );
  });

  it("a BERT base alone", () => {
    expect(planForRepo({ repo: "someone/bert" }, { config: { model_type: "bert" } })).toMatchObject({
      base: { repo: "someone/bert", revision: "main" },
      adapters: [],
      defaultAdapter: null,
      what: "a BERT base model (no adapters)",
    });
    expect(() => planForRepo({ repo: "someone/bert" }, { config: { model_type: "bert" } }, { adapters: ["x"] })).toThrow('there is no adapter "x" to load');
  });

  it("anything else is refused with what was found", () => {
    expect(() => planForRepo({ repo: "someone/roberta" }, { config: { model_type: "roberta" } })).toThrow(
      'someone/roberta@main is neither SPECTER2\'s nor a BERT base (config.json with model_type "bert") nor an AdapterHub adapter (adapter_config.json): its config.json has model_type "roberta"',
    );
    expect(() => planForRepo({ repo: "someone/data" }, { files: ["README.md", "data.csv"] })).toThrow(": it has README.md, data.csv");
  });
});
