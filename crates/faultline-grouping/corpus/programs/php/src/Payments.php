<?php
// shift-point
declare(strict_types=1);

namespace App;

final class Payments
{
    // Nothing listens on the discard port here, so live charges are refused.
    private const GATEWAY = 'tcp://127.0.0.1:9';

    private static function callGateway(string $token, int $amount): void
    {
        // shift-point
        $socket = @stream_socket_client(self::GATEWAY, $errno, $errstr, 0.5);
        if ($socket === false) {
            // shift-point
            throw new \RuntimeException("gateway unreachable: $errstr ($errno)");
        }
        fwrite($socket, "$token:$amount");
        fclose($socket);
    }

    public static function charge(array $customer, int $amount, string $card): string
    {
        // shift-point
        if (str_starts_with($card, 'tok_test')) {
            return 'ch_test';
        }
        try {
            self::callGateway($card, $amount);
        } catch (\RuntimeException $e) {
            // shift-point
            throw new PaymentException("charge of $amount EUR for {$customer['email']} failed", 0, $e);
        }
        return 'ch_live';
    }
}
