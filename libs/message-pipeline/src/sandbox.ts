import type { TransformLimits } from '@tributary/config';
import { createRequire } from 'node:module';
import {
  newQuickJSWASMModuleFromVariant,
  RELEASE_SYNC,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';

/**
 * QuickJS's release build, its Emscripten module loaded with `require`: the package's own loader is a
 * dynamic `import()`, which a CommonJS host without ES module support (jest) cannot run.
 */
const VARIANT: QuickJSSyncVariant = {
  ...RELEASE_SYNC,
  importModuleLoader: () =>
    Promise.resolve(
      (createRequire(__filename)('@jitl/quickjs-wasmfile-release-sync/emscripten-module') as { default: never }).default,
    ),
};
export class TransformError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformError';
  }
}

export interface SandboxFunctions {
  /** Compiled JavaScript (compileFunctionSource) of the group's `transform`. */
  transform?: string;
  /** Compiled JavaScript of the group's `route` function. */
  route?: string;
}

/**
 * Runs inside the sandbox, once per context: loads each function as a CommonJS module of its own (no
 * `require`: an import fails here) and defines `__call`, which takes and returns JSON text, so no
 * object ever crosses between the sandbox and the host: nothing the function does can reach a host
 * object or its prototype. JSON is captured first, so a function replacing it fools only itself.
 */
const PRELUDE = `(function () {
  var parse = JSON.parse, stringify = JSON.stringify, fns = {};
  globalThis.__load = function (name, code) {
    var module = { exports: {} };
    var fn = new Function('module', 'exports', code + '\\n;return typeof exports.default === "function" ? exports.default : typeof module.exports.default === "function" ? module.exports.default : typeof ' + name + ' === "function" ? ' + name + ' : undefined;')(module, module.exports);
    if (typeof fn !== 'function') throw new TypeError('the ' + name + ' source defines no function');
    fns[name] = fn;
  };
  globalThis.__call = function (name, text) {
    var out = fns[name](parse(text));
    if (out !== null && typeof out === 'object' && typeof out.then === 'function') throw new TypeError(name + ' must return its result, not a promise');
    return out === undefined ? 'null' : stringify(out);
  };
})();`;

/**
 * One QuickJS WebAssembly instance, runtime and context per group member, kept and reused: a call
 * costs a JSON round trip, not a new interpreter. Every call runs under a CPU deadline (the interrupt
 * handler) and the runtime's memory limit; after a time-out or running out of memory the instance is
 * dropped (`usable` turns false) and the next call gets a new one, never the wreck of the one before. The sandbox has JavaScript's
 * own built-ins and nothing of the host: no process, require, import, timers, network or files.
 */
export class Sandbox {
  private runtime?: QuickJSRuntime;
  private vm?: QuickJSContext;
  private call?: QuickJSHandle;
  private deadline = 0;

  private constructor(
    private readonly functions: SandboxFunctions,
    private readonly limits: TransformLimits,
  ) {}

  static async create(functions: SandboxFunctions, limits: TransformLimits): Promise<Sandbox> {
    const sandbox = new Sandbox(functions, limits);
    sandbox.start(await newQuickJSWASMModuleFromVariant(VARIANT));
    return sandbox;
  }

  /** Calls the group's function `name` with `input` (JSON text); returns its result as JSON text. */
  run(name: 'transform' | 'route', input: string): string {
    const vm = this.vm;
    if (!vm || !this.call) throw new TransformError('the sandbox is closed');
    const nameHandle = vm.newString(name);
    const inputHandle = vm.newString(input);
    this.deadline = Date.now() + this.limits.timeoutMs;
    const result = vm.callFunction(this.call, vm.undefined, nameHandle, inputHandle);
    this.deadline = 0;
    nameHandle.dispose();
    inputHandle.dispose();
    if (result.error) {
      const error = describeError(vm.dump(result.error));
      result.error.dispose();
      const fatal = /interrupted|out of memory|stack overflow/i.test(error);
      if (fatal) this.abandon();
      throw new TransformError(
        `${name} ${fatal && /interrupted/i.test(error) ? `ran over its ${this.limits.timeoutMs} ms` : 'failed'}: ${error}`,
      );
    }
    const text = vm.getString(result.value);
    result.value.dispose();
    return text;
  }

  close(): void {
    try {
      this.call?.dispose();
      this.vm?.dispose();
      this.runtime?.dispose();
    } catch {
      // QuickJS aborts its instance when a runtime still holds objects: it is this sandbox's alone, and dropped
    }
    this.call = this.vm = this.runtime = undefined;
  }

  private start(quickjs: QuickJSWASMModule): void {
    const runtime = quickjs.newRuntime();
    runtime.setMemoryLimit(this.limits.memoryMb * 1024 * 1024);
    runtime.setMaxStackSize(512 * 1024);
    runtime.setInterruptHandler(() => this.deadline !== 0 && Date.now() > this.deadline);
    const vm = runtime.newContext();
    this.runtime = runtime;
    this.vm = vm;
    this.evaluate(PRELUDE, 'prelude');
    for (const name of ['transform', 'route'] as const) {
      const code = this.functions[name];
      if (code === undefined) continue;
      const load = vm.getProp(vm.global, '__load');
      const args = [vm.newString(name), vm.newString(code)];
      this.deadline = Date.now() + this.limits.timeoutMs;
      const loaded = vm.callFunction(load, vm.undefined, ...args);
      this.deadline = 0;
      load.dispose();
      args.forEach((a) => a.dispose());
      if (loaded.error) {
        const error = describeError(vm.dump(loaded.error));
        loaded.error.dispose();
        this.close();
        throw new TransformError(`loading ${name} failed: ${error}`);
      }
      loaded.value.dispose();
    }
    this.call = vm.getProp(vm.global, '__call');
  }

  private evaluate(code: string, what: string): void {
    const vm = this.vm as QuickJSContext;
    const result = vm.evalCode(code, what);
    if (result.error) {
      const error = describeError(vm.dump(result.error));
      result.error.dispose();
      throw new TransformError(`${what}: ${error}`);
    }
    result.value.dispose();
  }

  /** False once a call ran out of time or memory: the pipeline makes a new sandbox for the next call. */
  get usable(): boolean {
    return this.vm !== undefined;
  }

  /**
   * After a time-out or running out of memory QuickJS cannot always free its runtime (an assertion
   * aborts the WebAssembly instance), so the whole instance, its memory with it, is dropped for the
   * garbage collector, never disposed; the next call gets a new one, without the old one's state.
   */
  private abandon(): void {
    this.call = this.vm = this.runtime = undefined;
  }
}

function describeError(dumped: unknown): string {
  if (typeof dumped === 'object' && dumped !== null) {
    const { name, message } = dumped as { name?: unknown; message?: unknown };
    if (typeof message === 'string') return typeof name === 'string' ? `${name}: ${message}` : message;
  }
  return String(dumped);
}
