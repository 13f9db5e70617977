import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * A response body written to out as it arrives, counting its bytes and noting when the
 * last came: the idle timeout's clock, which the headers' arrival also resets.
 */
final class DownloadBody implements HttpResponse.BodyHandler<Void>, HttpResponse.BodySubscriber<Void> {
    private final OutputStream out;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    volatile long lastProgress = System.nanoTime();
    volatile boolean answered;
    private volatile boolean keep;
    volatile long received;
    volatile long length = -1;
    private boolean stopped;
    private Flow.Subscription subscription;

    DownloadBody(OutputStream out) {
        this.out = out;
    }

    @Override
    public HttpResponse.BodySubscriber<Void> apply(HttpResponse.ResponseInfo info) {
        keep = info.statusCode() == 200;
        length = info.headers().firstValueAsLong("content-length").orElse(-1);
        answered = true;
        lastProgress = System.nanoTime();
        return this;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
        synchronized (this) {
            if (stopped) {
                subscription.cancel();
                return;
            }
            this.subscription = subscription;
        }
        subscription.request(1);
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
        synchronized (this) {
            if (stopped) return;
            try {
                for (ByteBuffer buffer : buffers) {
                    byte[] bytes = new byte[buffer.remaining()];
                    buffer.get(bytes);
                    if (keep) out.write(bytes);
                    received += bytes.length;
                }
            } catch (IOException e) {
                stopped = true;
                subscription.cancel();
                done.completeExceptionally(e);
                return;
            }
            lastProgress = System.nanoTime();
        }
        subscription.request(1);
    }

    @Override
    public void onError(Throwable error) {
        done.completeExceptionally(error);
    }

    @Override
    public void onComplete() {
        done.complete(null);
    }

    @Override
    public CompletionStage<Void> getBody() {
        return done;
    }

    /** No more writes to out once this returns (a write under way finishes first); the connection is dropped. */
    void stop() {
        Flow.Subscription toCancel;
        synchronized (this) {
            stopped = true;
            toCancel = subscription;
        }
        if (toCancel != null) toCancel.cancel();
    }

    String progress() {
        if (!answered) return "(no answer)";
        return "after " + received + (length >= 0 ? " of " + length : "") + " bytes";
    }
}
