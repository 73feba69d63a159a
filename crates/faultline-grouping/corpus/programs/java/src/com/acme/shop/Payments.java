// shift-point
package com.acme.shop;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

final class Payments {
    // Nothing listens on the discard port here, so live charges are refused.
    private static final InetSocketAddress GATEWAY = new InetSocketAddress("127.0.0.1", 9);

    private Payments() {}

    private static void callGateway(String token, int amount) throws IOException {
        // shift-point
        try (Socket socket = new Socket()) {
            socket.connect(GATEWAY, 500);
            socket.getOutputStream().write((token + ":" + amount).getBytes());
        }
    }

    static String charge(Customers.Customer customer, int amount, String card) {
        // shift-point
        if (card.startsWith("tok_test")) {
            return "ch_test";
        }
        try {
            callGateway(card, amount);
        } catch (IOException e) {
            // shift-point
            throw new PaymentException("charge of " + amount + " EUR for " + customer.email() + " failed", e);
        }
        return "ch_live";
    }
}
