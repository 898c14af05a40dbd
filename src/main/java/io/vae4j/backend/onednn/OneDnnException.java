package io.vae4j.backend.onednn;

import io.vae4j.VaeException;

/** A oneDNN call that did not return {@code dnnl_success}: names the call, what it was for, and the status. */
public final class OneDnnException extends VaeException {
    private final String call;
    private final int status;

    public OneDnnException(String call, int status, String context) {
        super("oneDNN " + call + " failed with " + OneDnn.statusName(status) + " (" + status + ")"
                + (context == null ? "" : " for " + context) + "; --backend java avoids oneDNN");
        this.call = call;
        this.status = status;
    }

    public String call() {
        return call;
    }

    public int status() {
        return status;
    }
}
