// shift-point
package com.acme.shop;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.function.BiConsumer;

/**
 * Records the shop's bugs as corpus events: `java com.acme.shop.Main DEPLOY SEED`.
 *
 * <p>Every (bug, entry point) case runs once; the exception an entry point lets escape is
 * recorded as the OpenTelemetry Java SDK does: class name, getMessage() and printStackTrace.
 */
public final class Main {
    private static final List<String> ALL = List.of("api.create", "api.update", "job.sync", "cli.import");
    private static final List<String> PLACING = List.of("api.create", "job.sync", "cli.import");

    private record Bug(String id, List<String> entries, BiConsumer<Map<String, String>, Random> breaker) {}

    private static final List<Bug> BUGS = List.of(
            new Bug("qty-parse", ALL, (o, r) -> o.put("qty", r.nextInt(9) + 1 + "x")),
            new Bug("settings-parse", ALL, (o, r) -> o.put("$settings", "pageSize=" + (r.nextBoolean() ? "fifty" : "50.5"))),
            new Bug("amount-parse", ALL, (o, r) -> o.put("amount", (1 + r.nextInt(99)) + "," + (10 + r.nextInt(89)))),
            new Bug("qty-invalid", ALL, (o, r) -> o.put("qty", String.valueOf(-r.nextInt(50) - 1))),
            new Bug("email-invalid", ALL, (o, r) -> o.put("email", "user" + r.nextInt(999) + ".at.example.com")),
            new Bug("customer-missing", ALL, (o, r) -> o.put("customer", "cus_" + (1000 + r.nextInt(9000)))),
            new Bug("inventory-unknown-sku", ALL, (o, r) -> o.put("sku", "SKU-" + (100 + r.nextInt(900)) + "-X")),
            new Bug("category-cycle", PLACING, (o, r) -> o.put("category", r.nextBoolean() ? "loop-a" : "loop-b")),
            new Bug("payment-gateway", ALL, (o, r) -> o.put("card", "tok_live_" + Long.toHexString(r.nextLong()))),
            new Bug("ship-date", PLACING, (o, r) -> o.put("ship", (2024 + r.nextInt(3)) + "/" + (13 + r.nextInt(6)) + "/01")));

    private Main() {}

    public static void main(String[] args) {
        // shift-point
        String deploy = args[0];
        int seed = Integer.parseInt(args[1]);
        for (Bug bug : BUGS) {
            for (String entry : bug.entries()) {
                Random rng = new Random((seed + "/" + bug.id() + "/" + entry).hashCode());
                Shop shop = new Shop();
                String customer = "cus_" + (10 + rng.nextInt(90));
                shop.customers.put(customer, new Customers.Customer(customer, customer + "@example.com"));
                Map<String, String> order = goodOrder(rng, customer);
                bug.breaker().accept(order, rng);
                String settings = order.remove("$settings");
                if (settings == null) {
                    settings = "pageSize=50;currency=EUR";
                }
                try {
                    run(entry, shop, settings, order);
                } catch (RuntimeException | Error e) {
                    System.out.println(event(bug.id(), entry, deploy, e));
                    continue;
                }
                throw new IllegalStateException(bug.id() + " via " + entry + " did not fail");
            }
        }
    }

    private static Map<String, String> goodOrder(Random rng, String customer) {
        // shift-point
        Map<String, String> order = new LinkedHashMap<>();
        order.put("id", new UUID(rng.nextLong(), rng.nextLong()).toString());
        order.put("qty", String.valueOf(1 + rng.nextInt(4)));
        order.put("email", customer + "@example.com");
        order.put("customer", customer);
        order.put("sku", rng.nextBoolean() ? "SKU-1" : "SKU-2");
        order.put("category", "shoes");
        order.put("amount", String.valueOf(5 + rng.nextInt(500)));
        order.put("card", "tok_test_visa");
        order.put("ship", "2024-05-0" + (1 + rng.nextInt(9)));
        return order;
    }

    private static Object run(String entry, Shop shop, String settings, Map<String, String> order) {
        // shift-point
        StringBuilder body = new StringBuilder();
        order.forEach((k, v) -> body.append(k).append('=').append(v).append(';'));
        Map<String, String> headers = Map.of("x-tenant-settings", settings);
        return switch (entry) {
            case "api.create" -> Api.handleCreateOrder(shop, headers, body.toString());
            case "api.update" -> Api.handleUpdateOrder(shop, headers, body.toString());
            case "job.sync" -> Jobs.nightlySync(shop, settings, List.of(order));
            default -> Cli.importCommand(shop, new String[] {"shop", "import", settings, body.toString()});
        };
    }

    private static String event(String bug, String entry, String deploy, Throwable e) {
        // shift-point
        StringWriter trace = new StringWriter();
        e.printStackTrace(new PrintWriter(trace));
        return "{" + field("label", "java/" + bug) + "," + field("language", "java") + ","
                + field("type", e.getClass().getName()) + "," + field("message", String.valueOf(e.getMessage())) + ","
                + field("stacktrace", trace.toString()) + "," + field("service", "corpus-java") + ","
                + field("entry", entry) + "," + field("deploy", deploy) + "}";
    }

    private static String field(String name, String value) {
        StringBuilder out = new StringBuilder("\"").append(name).append("\":\"");
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
