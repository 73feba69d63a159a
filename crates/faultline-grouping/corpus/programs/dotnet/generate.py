"""Hand-written .NET traces for the corpus: `python3 generate.py`.

.NET cannot run on the recording machine, so these events are written the
way .NET 8 prints `Exception.ToString()`: `Type: message`, inner exceptions
after ` ---> `, each inner block closed by `--- End of inner exception stack
trace ---`, `--- End of stack trace from previous location ---` after
awaits, async lambdas as state machines (`<<RunAsync>b__0>d.MoveNext()`),
compiler-generated local functions (`g__Core|83_0`) and ASP.NET Core's
`lambda_methodN` frames. The app (Acme.Shop) has the same bugs as the
other programs, each reached from four entry points, in two deploys: the
second built elsewhere (`/home/runner/work/...` instead of `/src`), with
lines moved, a different display-class ordinal and different
`lambda_methodN` numbers, as a rebuild gives.
"""
import json
import random
import uuid

DEPLOYS = {
    # deploy: (source root, line offset per file, display class ordinal, lambda_method number)
    "base": ("/src", 0, "5_0", 12),
    "shifted": ("/home/runner/work/shop/shop/src", 7, "6_0", 41),
}

AWAIT_BOUNDARY = "--- End of stack trace from previous location ---"


class Frames:
    """Builds `   at Type.Method(Args) in File:line N` lines for one deploy."""

    def __init__(self, deploy):
        self.root, self.offset, self.display, self.lambda_no = DEPLOYS[deploy]

    def app(self, symbol, args, path, line):
        # Files lower in the tree move more in the shifted build, as edits accumulate.
        moved = line + self.offset * (1 + path.count("/"))
        return f"   at Acme.Shop.{symbol}({args}) in {self.root}/Acme.Shop/{path}:line {moved}"

    @staticmethod
    def lib(symbol, args=""):
        return f"   at {symbol}({args})"


def mvc_pipeline(f):
    """What ASP.NET Core MVC puts under an async controller action."""
    return [
        f.lib(f"lambda_method{f.lambda_no}", "Closure, Object, Object[]"),
        f.lib("Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor.TaskOfIActionResultExecutor.Execute",
              "ActionContext actionContext, IActionResultTypeMapper mapper, ObjectMethodExecutor executor, Object controller, Object[] arguments"),
        f.lib("Microsoft.AspNetCore.Mvc.Infrastructure.ControllerActionInvoker.<InvokeActionMethodAsync>g__Awaited|12_0",
              "ControllerActionInvoker invoker, ValueTask`1 actionResultValueTask"),
        f.lib("Microsoft.AspNetCore.Mvc.Infrastructure.ControllerActionInvoker.<InvokeNextActionFilterAsync>g__Awaited|10_0",
              "ControllerActionInvoker invoker, Task lastTask, State next, Scope scope, Object state, Boolean isCompleted"),
        f.lib("Microsoft.AspNetCore.Mvc.Infrastructure.ControllerActionInvoker.Rethrow", "ActionExecutedContextSealed context"),
        f.lib("Microsoft.AspNetCore.Mvc.Infrastructure.ControllerActionInvoker.Next",
              "State& next, Scope& scope, Object& state, Boolean& isCompleted"),
        f.lib("Microsoft.AspNetCore.Mvc.Infrastructure.ControllerActionInvoker.InvokeInnerFilterAsync"),
        AWAIT_BOUNDARY,
        f.lib("Microsoft.AspNetCore.Mvc.Infrastructure.ResourceInvoker.<InvokeFilterPipelineAsync>g__Awaited|20_0",
              "ResourceInvoker invoker, Task lastTask, State next, Scope scope, Object state, Boolean isCompleted"),
        f.lib("Microsoft.AspNetCore.Mvc.Infrastructure.ResourceInvoker.<InvokeAsync>g__Awaited|17_0",
              "ResourceInvoker invoker, Task task, IDisposable scope"),
        f.lib("Microsoft.AspNetCore.Routing.EndpointMiddleware.<Invoke>g__AwaitRequestTask|7_0",
              "Endpoint endpoint, Task requestTask, ILogger logger"),
        f.lib("Microsoft.AspNetCore.Authorization.AuthorizationMiddleware.Invoke", "HttpContext context"),
        f.lib("Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddlewareImpl.<Invoke>g__Awaited|10_0",
              "ExceptionHandlerMiddlewareImpl middleware, HttpContext context, Task task"),
    ]


# Entry points: the frames from the service call up to the host, and which
# service method each one goes through ("place" or "amend").
def entry_frames(entry, f, step):
    """Frames below the failing step for one entry point, innermost first."""
    if entry == "api.create":
        own = {
            "settings": [f.app("Api.OrdersController.Create", "CreateOrderRequest request, CancellationToken ct", "Api/OrdersController.cs", 34)],
            "payload": [f.app("Api.OrdersController.Create", "CreateOrderRequest request, CancellationToken ct", "Api/OrdersController.cs", 35)],
        }.get(step)
        if own is None:
            own = [f.app("Orders.OrderService.PlaceOrderAsync", "Order order, CancellationToken ct", "Orders/OrderService.cs", PLACE_LINES[step]),
                   f.app("Api.OrdersController.Create", "CreateOrderRequest request, CancellationToken ct", "Api/OrdersController.cs", 37)]
        return own + mvc_pipeline(f)
    if entry == "api.update":
        own = {
            "settings": [f.app("Api.OrdersController.Update", "Guid id, UpdateOrderRequest request, CancellationToken ct", "Api/OrdersController.cs", 45)],
            "payload": [f.app("Api.OrdersController.Update", "Guid id, UpdateOrderRequest request, CancellationToken ct", "Api/OrdersController.cs", 46)],
        }.get(step)
        if own is None:
            own = [f.app("Orders.OrderService.AmendOrderAsync", "Guid id, Order patch, CancellationToken ct", "Orders/OrderService.cs", AMEND_LINES[step]),
                   f.app("Api.OrdersController.Update", "Guid id, UpdateOrderRequest request, CancellationToken ct", "Api/OrdersController.cs", 48)]
        return own + mvc_pipeline(f)
    if entry == "job.sync":
        host = [
            f.app("Jobs.NightlySyncJob.ExecuteAsync", "CancellationToken stoppingToken", "Jobs/NightlySyncJob.cs", 30),
            f.lib("Microsoft.Extensions.Hosting.Internal.Host.<StartAsync>b__15_1", "IHostedService service, CancellationToken token"),
            f.lib("Microsoft.Extensions.Hosting.Internal.Host.ForeachService[T]",
                  "IEnumerable`1 services, CancellationToken token, Boolean concurrent, Boolean abortOnFirstException, List`1 exceptions, Func`3 operation"),
        ]
        if step == "settings":
            return [f.app("Jobs.NightlySyncJob.ExecuteAsync", "CancellationToken stoppingToken", "Jobs/NightlySyncJob.cs", 24)] + host[1:]
        # Rows are synced by an async lambda: a compiler-generated state machine.
        lam = f"   at Acme.Shop.Jobs.NightlySyncJob.<>c__DisplayClass{f.display}.<<ExecuteAsync>b__0>d.MoveNext() in {f.root}/Acme.Shop/Jobs/NightlySyncJob.cs:line {27 + 2 * f.offset}"
        return [
            f.app("Orders.OrderService.PlaceOrderAsync", "Order order, CancellationToken ct", "Orders/OrderService.cs", PLACE_LINES[step]),
            f.app("Jobs.NightlySyncJob.SyncRowAsync", "Order row, CancellationToken ct", "Jobs/NightlySyncJob.cs", 41),
            lam,
            AWAIT_BOUNDARY,
            f.lib("System.Threading.Tasks.Parallel.<>c__50`1.<<ForEachAsync>b__50_0>d.MoveNext"),
            AWAIT_BOUNDARY,
        ] + host
    # cli.import
    handler = [
        f.lib("System.CommandLine.Invocation.AnonymousCommandHandler.InvokeAsync", "InvocationContext context"),
        f.lib("System.CommandLine.Invocation.InvocationPipeline.<>c__DisplayClass4_0.<<BuildInvocationChain>b__0>d.MoveNext"),
        AWAIT_BOUNDARY,
        f.app("Cli.Program.Main", "String[] args", "Cli/Program.cs", 12),
        f.lib("Acme.Shop.Cli.Program.<Main>", "String[] args"),
    ]
    if step in ("settings", "payload"):
        line = {"settings": 19, "payload": 20}[step]
        return [f.app("Cli.ImportCommand.InvokeAsync", "FileInfo settings, FileInfo order, CancellationToken ct", "Cli/ImportCommand.cs", line)] + handler
    return [f.app("Orders.OrderService.PlaceOrderAsync", "Order order, CancellationToken ct", "Orders/OrderService.cs", PLACE_LINES[step]),
            f.app("Cli.ImportCommand.InvokeAsync", "FileInfo settings, FileInfo order, CancellationToken ct", "Cli/ImportCommand.cs", 22),
            AWAIT_BOUNDARY] + handler


PLACE_LINES = {"qty": 41, "items": 42, "email": 43, "customer": 44, "reserve": 46, "category": 47, "charge": 49, "ship": 50}
AMEND_LINES = {"customer": 59, "email": 60, "qty": 62, "items": 63, "reserve": 64, "charge": 66}

ALL = ["api.create", "api.update", "job.sync", "cli.import"]
WITH_BODY = ["api.create", "api.update", "cli.import"]
PLACING = ["api.create", "job.sync", "cli.import"]

JSON_STACK = [
    ("System.Text.Json.ThrowHelper.ThrowJsonReaderException", "Utf8JsonReader& json, ExceptionResource resource, Byte nextByte, ReadOnlySpan`1 bytes"),
    ("System.Text.Json.Utf8JsonReader.ConsumePropertyName", ""),
    ("System.Text.Json.Utf8JsonReader.ReadSingleSegment", ""),
    ("System.Text.Json.Utf8JsonReader.Read", ""),
    ("System.Text.Json.Serialization.Converters.ObjectDefaultConverter`1.OnTryRead",
     "Utf8JsonReader& reader, Type typeToConvert, JsonSerializerOptions options, ReadStack& state, T& value"),
]
JSON_RETHROW = [
    ("System.Text.Json.ThrowHelper.ReThrowWithPath", "ReadStack& state, JsonReaderException ex"),
    ("System.Text.Json.Serialization.JsonConverter`1.ReadCore", "Utf8JsonReader& reader, JsonSerializerOptions options, ReadStack& state"),
    ("System.Text.Json.JsonSerializer.ReadFromSpan[TValue]", "ReadOnlySpan`1 utf8Json, JsonTypeInfo`1 jsonTypeInfo, Nullable`1 actualByteCount"),
    ("System.Text.Json.JsonSerializer.ReadFromSpan[TValue]", "ReadOnlySpan`1 json, JsonTypeInfo`1 jsonTypeInfo"),
    ("System.Text.Json.JsonSerializer.Deserialize[TValue]", "String json, JsonSerializerOptions options"),
]


def json_failure(f, r, app_frame):
    """System.Text.Json's JsonException wrapping a JsonReaderException."""
    char = r.choice(["'", "x", "}"])
    pos = r.randint(1, 60)
    reader = f"'{char}' is an invalid start of a property name. Expected a '\"'. LineNumber: 0 | BytePositionInLine: {pos}."
    outer = f"'{char}' is an invalid start of a property name. Expected a '\"'. Path: $ | LineNumber: 0 | BytePositionInLine: {pos}."
    header = [f"System.Text.Json.JsonException: {outer}", f" ---> System.Text.Json.JsonReaderException: {reader}"]
    frames = [f.lib(s, a) for s, a in JSON_STACK] + ["   --- End of inner exception stack trace ---"]
    frames += [f.lib(s, a) for s, a in JSON_RETHROW] + [app_frame]
    return "System.Text.Json.JsonException", outer, header, frames


def bug_order_json(f, r, entry):
    frame = f.app("Orders.OrderPayload.Parse", "String raw", "Orders/OrderPayload.cs", 17)
    t, m, header, frames = json_failure(f, r, frame)
    return t, m, header, frames + entry_frames(entry, f, "payload")


def bug_items_json(f, r, entry):
    # Line items arrive as a JSON string inside the order: the same
    # deserializer, called from another method of the same class.
    frame = f.app("Orders.OrderPayload.ParseLineItems", "String itemsJson", "Orders/OrderPayload.cs", 26)
    t, m, header, frames = json_failure(f, r, frame)
    return t, m, header, frames + entry_frames(entry, f, "items")


def bug_settings_json(f, r, entry):
    frame = f.app("Settings.TenantSettings.Read", "String raw", "Settings/TenantSettings.cs", 22)
    t, m, header, frames = json_failure(f, r, frame)
    return t, m, header, frames + entry_frames(entry, f, "settings")


def bug_qty(f, r, entry):
    qty = -r.randint(1, 50)
    msg = f"quantity must be positive for order {uuid.UUID(int=r.getrandbits(128))}, got {qty} (Parameter 'qty')"
    frames = [f.app("Orders.OrderValidator.CheckQuantity", "Guid orderId, Int32 qty", "Orders/OrderValidator.cs", 14)]
    return "System.ArgumentException", msg, [f"System.ArgumentException: {msg}"], frames + entry_frames(entry, f, "qty")


def bug_email(f, r, entry):
    msg = f"invalid email address 'user{r.randint(1, 999)}.at.example.com' (Parameter 'email')"
    frames = [f.app("Accounts.EmailAddress.Check", "String email", "Accounts/EmailAddress.cs", 19)]
    return "System.ArgumentException", msg, [f"System.ArgumentException: {msg}"], frames + entry_frames(entry, f, "email")


def bug_customer(f, r, entry):
    msg = f"The given key 'cus_{r.randint(1000, 9999)}' was not present in the dictionary."
    frames = [
        f.lib("System.Collections.Generic.Dictionary`2.get_Item", "TKey key"),
        f.app("Customers.CustomerDirectory.Load", "String customerId", "Customers/CustomerDirectory.cs", 21),
    ]
    t = "System.Collections.Generic.KeyNotFoundException"
    return t, msg, [f"{t}: {msg}"], frames + entry_frames(entry, f, "customer")


def bug_inventory(f, r, entry):
    sku = f"SKU-{r.randint(100, 999)}-X"
    qty = r.randint(1, 4)
    msg = f"cannot reserve {qty} x {sku}: unknown SKU"
    header = ["Acme.Shop.Inventory.InventoryException: " + msg,
              f" ---> System.Collections.Generic.KeyNotFoundException: The given key '{sku}' was not present in the dictionary."]
    frames = [
        f.lib("System.Collections.Generic.Dictionary`2.get_Item", "TKey key"),
        f.app("Inventory.StockLedger.Reserve", "String sku, Int32 qty", "Inventory/StockLedger.cs", 24),
        "   --- End of inner exception stack trace ---",
        f.app("Inventory.StockLedger.Reserve", "String sku, Int32 qty", "Inventory/StockLedger.cs", 29),
    ]
    return "Acme.Shop.Inventory.InventoryException", msg, header, frames + entry_frames(entry, f, "reserve")


def bug_category(f, r, entry):
    name = r.choice(["loop-a", "loop-b"])
    msg = f"Category tree too deep at '{name}'."
    frames = [f.app("Catalog.CategoryTree.PathOf", "String name, Int32 depth", "Catalog/CategoryTree.cs", 18)]
    frames += [f.app("Catalog.CategoryTree.PathOf", "String name, Int32 depth", "Catalog/CategoryTree.cs", 24)] * 48
    t = "System.InvalidOperationException"
    return t, msg, [f"{t}: {msg}"], frames + entry_frames(entry, f, "category")


def bug_payment(f, r, entry):
    amount = r.randint(5, 500)
    email = f"cus_{r.randint(10, 99)}@example.com"
    msg = f"charge of {amount} EUR for {email} failed"
    header = [
        "Acme.Shop.Payments.PaymentException: " + msg,
        " ---> System.Net.Http.HttpRequestException: Connection refused (payments.internal:443)",
        " ---> System.Net.Sockets.SocketException (111): Connection refused",
    ]
    frames = [
        f.lib("System.Net.Sockets.Socket.AwaitableSocketAsyncEventArgs.ThrowException", "SocketError error, CancellationToken cancellationToken"),
        f.lib("System.Net.Sockets.Socket.AwaitableSocketAsyncEventArgs.System.Threading.Tasks.Sources.IValueTaskSource.GetResult", "Int16 token"),
        f.lib("System.Net.Sockets.Socket.<ConnectAsync>g__WaitForConnectWithCancellation|285_0", "AwaitableSocketAsyncEventArgs saea, ValueTask connectTask, CancellationToken cancellationToken"),
        f.lib("System.Net.Http.HttpConnectionPool.ConnectToTcpHostAsync", "String host, Int32 port, HttpRequestMessage initialRequest, Boolean async, CancellationToken cancellationToken"),
        "   --- End of inner exception stack trace ---",
        f.lib("System.Net.Http.HttpConnectionPool.ConnectToTcpHostAsync", "String host, Int32 port, HttpRequestMessage initialRequest, Boolean async, CancellationToken cancellationToken"),
        f.lib("System.Net.Http.HttpConnectionPool.ConnectAsync", "HttpRequestMessage request, Boolean async, CancellationToken cancellationToken"),
        f.lib("System.Net.Http.HttpConnectionPool.CreateHttp11ConnectionAsync", "HttpRequestMessage request, Boolean async, CancellationToken cancellationToken"),
        f.lib("System.Net.Http.HttpConnectionPool.AddHttp11ConnectionAsync", "QueueItem queueItem"),
        f.lib("System.Threading.Tasks.TaskCompletionSourceWithCancellation`1.WaitWithCancellationAsync", "CancellationToken cancellationToken"),
        f.lib("System.Net.Http.HttpConnectionPool.SendWithVersionDetectionAndRetryAsync", "HttpRequestMessage request, Boolean async, Boolean doRequestAuth, CancellationToken cancellationToken"),
        f.lib("System.Net.Http.DiagnosticsHandler.SendAsyncCore", "HttpRequestMessage request, Boolean async, CancellationToken cancellationToken"),
        f.lib("System.Net.Http.HttpClient.<SendAsync>g__Core|83_0", "HttpRequestMessage request, HttpCompletionOption completionOption, CancellationTokenSource cts, Boolean disposeCts, CancellationTokenSource pendingRequestsCts, CancellationToken originalCancellationToken"),
        f.app("Payments.CardGateway.ChargeAsync", "String token, Decimal amount, CancellationToken ct", "Payments/CardGateway.cs", 33),
        f.app("Payments.PaymentService.ChargeAsync", "Customer customer, Decimal amount, String card, CancellationToken ct", "Payments/PaymentService.cs", 27),
        "   --- End of inner exception stack trace ---",
        f.app("Payments.PaymentService.ChargeAsync", "Customer customer, Decimal amount, String card, CancellationToken ct", "Payments/PaymentService.cs", 31),
        AWAIT_BOUNDARY,
    ]
    return "Acme.Shop.Payments.PaymentException", msg, header, frames + entry_frames(entry, f, "charge")


def bug_ship(f, r, entry):
    text = f"{r.randint(2024, 2026)}/{r.randint(13, 19)}/01"
    msg = f"String '{text}' was not recognized as a valid DateTime."
    frames = [
        f.lib("System.DateTimeParse.ParseExact", "ReadOnlySpan`1 s, ReadOnlySpan`1 format, DateTimeFormatInfo dtfi, DateTimeStyles style"),
        f.lib("System.DateTime.ParseExact", "String s, String format, IFormatProvider provider"),
        f.app("Shipping.ShipDates.Parse", "String text", "Shipping/ShipDates.cs", 12),
    ]
    return "System.FormatException", msg, [f"System.FormatException: {msg}"], frames + entry_frames(entry, f, "ship")


BUGS = {
    "order-json": (WITH_BODY, bug_order_json),
    "settings-json": (ALL, bug_settings_json),
    "items-json": (ALL, bug_items_json),
    "qty-invalid": (ALL, bug_qty),
    "email-invalid": (ALL, bug_email),
    "customer-missing": (ALL, bug_customer),
    "inventory-unknown-sku": (ALL, bug_inventory),
    "category-cycle": (PLACING, bug_category),
    "payment-gateway": (ALL, bug_payment),
    "ship-date": (PLACING, bug_ship),
}


def main():
    for deploy in DEPLOYS:
        f = Frames(deploy)
        for bug, (entries, make) in BUGS.items():
            for entry in entries:
                r = random.Random(f"{deploy}/{bug}/{entry}")
                exc_type, message, header, frames = make(f, r, entry)
                event = {
                    "label": f"dotnet/{bug}",
                    "language": "dotnet",
                    "type": exc_type,
                    "message": message,
                    "stacktrace": "\n".join(header + frames),
                    "service": "corpus-dotnet",
                    "entry": entry,
                    "deploy": deploy,
                }
                print(json.dumps(event))


if __name__ == "__main__":
    main()
