/*
 * Copyright (c) 2022, 2023 Oracle and/or its affiliates.
 * Modified by the Tandem project (the read buffer in get(); see the class comment).
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

package io.helidon.common.socket;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.util.Arrays;

import io.helidon.common.buffers.BufferData;

/**
 * Helidon socket that is based on plaintext.
 * <p>
 * <b>Tandem's copy of Helidon 4.1.2's class</b> (helidon-common-socket 4.1.2, the same API and
 * behaviour), placed in the gateway jar so that it is loaded instead of the one in
 * {@code libs/helidon-common-socket-4.1.2.jar} (the jar named by {@code java -jar} comes first on
 * the class path). The only change is in {@link #get()}: Helidon keeps an 8 KiB read buffer per
 * socket for the socket's whole life, and a WebSocket connection's reader is parked in a read
 * into it while the connection is idle, so each idle connection held 8 KiB of heap that carried
 * nothing (half of what an idle connection cost in all). Here a socket keeps 512 bytes for the
 * read that waits for data; when a read fills them (more data is likely already there), the next
 * read uses a fresh 8 KiB array, as large as Helidon's. A test in the gateway
 * ({@code PlainSocketCopyTest}) fails when the Helidon class this copies changes, so an upgrade
 * cannot silently run an outdated copy: re-copy the new version's file and re-apply the change.
 */
public sealed class PlainSocket implements HelidonSocket permits TlsSocket {
    // Helidon's size, for reads that follow a full one
    private static final int BUFFER_LENGTH = 8 * 1024;
    // kept per socket; an idle WebSocket connection waits in a read into this one
    private static final int IDLE_BUFFER_LENGTH = 512;

    private final byte[] readBuffer = new byte[IDLE_BUFFER_LENGTH];
    // only the socket's reader thread calls get()
    private boolean lastReadFilled;

    private final Socket delegate;
    private final String childSocketId;
    private final String socketId;
    private final IdleInputStream inputStream;
    private final OutputStream outputStream;

    /**
     * Plain socket.
     *
     * @param delegate delegate socket
     * @param childSocketId channel id
     * @param socketId  server channel id
     */
    protected PlainSocket(Socket delegate, String childSocketId, String socketId) {
        this.delegate = delegate;
        this.childSocketId = childSocketId;
        this.socketId = socketId;
        try {
            this.inputStream = new IdleInputStream(delegate.getInputStream(), childSocketId, socketId);
            this.outputStream = delegate.getOutputStream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Create a new server socket.
     *
     * @param delegate underlying socket
     * @param channelId channel id
     * @param serverChannelId server channel id
     * @return a new plain socket
     */
    public static PlainSocket server(Socket delegate, String channelId, String serverChannelId) {
        return new PlainSocket(delegate, channelId, serverChannelId);
    }

    /**
     * Create a new client socket.
     *
     * @param delegate underlying socket
     * @param channelId channel id
     * @return a new plain socket
     */
    public static PlainSocket client(Socket delegate, String channelId) {
        return new PlainSocket(delegate, channelId, "client");
    }

    @Override
    public PeerInfo remotePeer() {
        return PeerInfoImpl.createRemote(this);
    }

    @Override
    public PeerInfo localPeer() {
        return PeerInfoImpl.createLocal(this);
    }

    @Override
    public boolean isSecure() {
        return false;
    }

    @Override
    public String socketId() {
        return socketId;
    }

    @Override
    public String childSocketId() {
        return childSocketId;
    }

    @Override
    public void close() {
        try {
            delegate.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void idle() {
        inputStream.idle();
    }

    @Override
    public boolean isConnected() {
        return !inputStream.isClosed();
    }

    @Override
    public int read(BufferData buffer) {
        return buffer.readFrom(inputStream);
    }

    @Override
    public void write(BufferData buffer) {
        buffer.writeTo(outputStream);
    }

    @Override
    public byte[] get() {
        try {
            byte[] buffer = lastReadFilled ? new byte[BUFFER_LENGTH] : readBuffer;
            int r = inputStream.read(buffer);
            if (r == -1) {
                return null; // end of data
            } else if (r == 0) {
                throw new IllegalStateException("Read 0 bytes, this should never happen with blocking socket");
            }
            lastReadFilled = r == buffer.length;
            // a fresh array read full is handed over as it is (the caller keeps what it gets)
            return buffer != readBuffer && r == buffer.length ? buffer : Arrays.copyOf(buffer, r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    SocketAddress localSocketAddress() {
        return delegate.getLocalSocketAddress();
    }

    SocketAddress remoteSocketAddress() {
        return delegate.getRemoteSocketAddress();
    }

    String localHost() {
        SocketAddress localSocketAddress = localSocketAddress();
        if (localSocketAddress instanceof InetSocketAddress inet) {
            return inet.getHostString();
        }
        throw new IllegalStateException("Local host is not an instance of InetSocketAddress");
    }

    String remoteHost() {
        SocketAddress remoteSocketAddress = delegate.getRemoteSocketAddress();
        if (remoteSocketAddress instanceof InetSocketAddress inet) {
            return inet.getHostString();
        }
        throw new IllegalStateException("Remote host is not an instance of InetSocketAddress");
    }

    int localPort() {
        SocketAddress localSocketAddress = localSocketAddress();
        if (localSocketAddress instanceof InetSocketAddress inet) {
            return inet.getPort();
        }
        throw new IllegalStateException("Local host is not an instance of InetSocketAddress");
    }

    int remotePort() {
        SocketAddress remoteSocketAddress = delegate.getRemoteSocketAddress();
        if (remoteSocketAddress instanceof InetSocketAddress inet) {
            return inet.getPort();
        }
        throw new IllegalStateException("Remote host is not an instance of InetSocketAddress");
    }
}
