import Glibc

/// A dedicated OS thread (pthread) for one forwarding loop: the loop blocks in poll() and must
/// not occupy a Swift concurrency or Dispatch worker. `join()` waits for the body to return.
final class LoopThread: @unchecked Sendable {
    private var thread: pthread_t?
    private let body: () -> Void

    init(name: String, body: @escaping () -> Void) throws {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let thread = Unmanaged<LoopThread>.fromOpaque(raw!).takeRetainedValue()
            thread.body()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<LoopThread>.fromOpaque(context).release()
            throw FastPathError.system(operation: "pthread_create", interface: name, errno: rc)
        }
        thread = handle
    }

    func join() {
        guard let handle = thread else { return }
        thread = nil
        pthread_join(handle, nil)
    }
}
