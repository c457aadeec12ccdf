import Atomics
import Glibc
import SystemPackage
import Logging

/// A dedicated OS thread (pthread) for one forwarding loop: the loop blocks in poll() and must
/// not occupy a Swift concurrency or Dispatch worker. Named `fwd-NAME` and placed at the normal
/// class on the dataplane's CPUs before the loop starts (a thread inherits its creator's class,
/// and its creator is a slow-path thread). `join()` waits for the body to return.
// @unchecked: `thread` is set and cleared on the owner's side; the new thread shares the atomic only.
final class LoopThread: @unchecked Sendable {
    private var thread: pthread_t?
    private let body: () -> Void
    /// The thread's kernel id, once it runs (for placing it again on a reload).
    let threadID = UnsafeAtomic<Int32>.create(0)

    init(name: String, placement: ThreadPlacement, logger: Logger, body: @escaping () -> Void) throws {
        let threadID = self.threadID
        self.body = {
            ThreadPlacement.nameCurrentThread("fwd-" + name)
            threadID.store(ThreadPlacement.currentThreadID, ordering: .releasing)
            do {
                try placement.apply(to: ThreadPlacement.currentThreadID)
            } catch {
                logger.error("forwarding thread keeps the default placement", metadata: ["error": "\(error)"])
            }
            body()
        }
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let thread = Unmanaged<LoopThread>.fromOpaque(raw!).takeRetainedValue()
            thread.body()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<LoopThread>.fromOpaque(context).release()
            throw FastPathError.system(operation: "pthread_create", interface: name, errno: Errno(rawValue: rc))
        }
        thread = handle
    }

    func join() {
        guard let handle = thread else { return }
        thread = nil
        pthread_join(handle, nil)
    }

    deinit { threadID.destroy() }
}
