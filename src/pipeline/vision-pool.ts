// Vision pool: the vision workers, as seen from the main thread (dispatch, broadcast, restart).
import { HttpError, fromWireError } from "../errors.ts";
import type { ModelSpec } from "../models/model-spec.ts";
import type { ArenaHandle, VisionInit, VisionReply, VisionRequest } from "../workers/protocol.ts";
import type { ThreadMemory } from "../workers/thread-memory.ts";

type TaskRequest = Extract<VisionRequest, { taskId: number }>;
type TaskInput = TaskRequest extends infer R ? (R extends TaskRequest ? Omit<R, "taskId"> : never) : never;

interface PendingTask {
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  /** The watchdog that replaces the worker when this task outlives the task timeout. */
  watchdog: ReturnType<typeof setTimeout> | undefined;
}

interface PoolMember {
  worker: Worker;
  pending: Map<number, PendingTask>;
  ready: Promise<void>;
  /** Posts now if the worker has announced itself, else queues (messages sent earlier can be lost). */
  send: (message: VisionInit | VisionRequest) => void;
  /** Terminates the worker, fails its tasks with a 500 and puts a new worker in its place. */
  replace: (reason: string) => void;
}

const WORKER_URL = new URL("../workers/vision.worker.ts", import.meta.url);

export class VisionPool {
  private members: PoolMember[] = [];
  /** Attach messages of the instances attached now, replayed to a worker that replaces a failed one. */
  private readonly attached = new Map<number, Extract<VisionRequest, { type: "attach" }>>();
  private nextTaskId = 1;
  private stopping = false;
  /** Workers replaced after a crash (exported as a metric). */
  restarts = 0;

  /**
   * `init.vision.numWorkers` workers; a task not finished after `init.vision.visionTaskTimeoutMs` means a hung worker,
   * which is replaced (0 = never). `workerUrl` is the worker script (tests substitute their own).
   */
  constructor(
    private readonly init: VisionInit,
    private readonly workerUrl: URL = WORKER_URL,
  ) {
    for (let i = 0; i < init.vision.numWorkers; i++) this.members.push(this.spawn());
  }

  /** Resolves once every worker has finished starting (messages sent earlier would be lost). */
  async ready(): Promise<void> {
    await Promise.all(this.members.map((m) => m.ready));
  }

  /** Runs a task on the least busy worker. */
  run<T>(task: TaskInput): Promise<T> {
    let member = this.members[0]!;
    for (const m of this.members) if (m.pending.size < member.pending.size) member = m;
    return this.runOn(member, task);
  }

  /**
   * Each worker's memory, in pool order; null for a worker that did not answer within `waitMs` (busy in a long
   * synchronous step, or being replaced), so a scrape of /metrics never waits for a task timeout.
   */
  async memory(waitMs = 1000): Promise<(ThreadMemory | null)[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), waitMs)));
    const readings = await Promise.all(this.members.map((m) => Promise.race([this.runOn<ThreadMemory>(m, { type: "memory" }).catch(() => null), late])));
    clearTimeout(timer);
    return readings;
  }

  private runOn<T>(member: PoolMember, task: TaskInput): Promise<T> {
    const taskId = this.nextTaskId++;
    const timeoutMs = this.init.vision.visionTaskTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const watchdog = timeoutMs > 0 ? setTimeout(() => member.replace(`a ${task.type} task took longer than ${timeoutMs} ms`), timeoutMs) : undefined;
      member.pending.set(taskId, { resolve: resolve as (r: unknown) => void, reject, watchdog });
      member.send({ ...task, taskId } as TaskRequest);
    });
  }

  /** Tells every worker (present and future) about a model instance. */
  attach(instance: number, spec: ModelSpec, arena: ArenaHandle): void {
    const message = { type: "attach" as const, instance, spec, arena };
    this.attached.set(instance, message);
    for (const m of this.members) m.send(message);
  }

  detach(instance: number): void {
    this.attached.delete(instance);
    for (const m of this.members) m.send({ type: "detach", instance });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const m of this.members) m.worker.terminate();
    this.members = [];
  }

  private spawn(): PoolMember {
    const worker = new Worker(this.workerUrl);
    const pending = new Map<number, PendingTask>();
    let queued: (VisionInit | VisionRequest)[] | null = [this.init, ...this.attached.values()];
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const send = (message: VisionInit | VisionRequest) => (queued ? queued.push(message) : worker.postMessage(message));
    const member: PoolMember = { worker, pending, ready, send, replace: () => {} };
    worker.onmessage = (event: MessageEvent<VisionReply>) => {
      const message = event.data;
      if (message.type === "ready") {
        for (const m of queued ?? []) worker.postMessage(m);
        queued = null;
        markReady();
        return;
      }
      const task = pending.get(message.taskId);
      if (!task) return;
      pending.delete(message.taskId);
      clearTimeout(task.watchdog);
      if (message.type === "done") task.resolve(message.result);
      else task.reject(fromWireError(message.error));
    };
    const replace = (reason: string) => {
      if (this.stopping || !this.members.includes(member)) return;
      console.error(`vision worker failed (${reason}); replacing it`);
      for (const task of pending.values()) {
        clearTimeout(task.watchdog);
        task.reject(new HttpError(500, "Internal error. An image worker failed while handling this request."));
      }
      pending.clear();
      worker.terminate();
      this.restarts++;
      this.members[this.members.indexOf(member)] = this.spawn();
    };
    member.replace = replace;
    worker.onerror = (event) => replace(event.message || "uncaught error");
    worker.addEventListener("close", () => replace("exited"));
    return member;
  }
}
