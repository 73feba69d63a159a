<?php
// shift-point
declare(strict_types=1);

namespace App;

final class Customer
{
    public function __construct(public readonly string $id, private readonly string $email)
    {
    }

    public function email(): string
    {
        return $this->email;
    }
}

final class Customers
{
    /** @param array<string, Customer> $customers */
    public function __construct(private array $customers)
    {
    }

    public function find(string $id): ?Customer
    {
        return $this->customers[$id] ?? null;
    }

    public function loadCustomer(string $customerId): array
    {
        // shift-point
        $email = $this->find($customerId)->email();
        // shift-point
        return ['id' => $customerId, 'email' => $email];
    }
}
