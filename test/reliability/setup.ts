// Run after every test of the reliability project: a test that ran out of time leaves no CLI process behind.
import { killChildren } from "../helpers/builtCli";

afterEach(killChildren);
