#!/usr/bin/perl
# Runs a plan of Net::Akismet calls (JSON on stdin) and prints one JSON result per step.
#
# Net::Akismet is configured only through its documented options (KEY, URL, SERVICE_HOST);
# it puts the key in the host name (http://KEY.SERVICE_HOST/1.1/...). LWP reaches those
# names through the proxy named in http_proxy (PERL_LWP_ENV_PROXY=1 makes LWP read it).
use strict;
use warnings;
use JSON::PP;
use Net::Akismet;

my $json = JSON::PP->new->utf8->canonical;
my $plan = $json->decode(do { local $/; <STDIN> });
my @results;
for my $item (@{ $plan->{steps} }) {
    my $key = defined $item->{key} ? $item->{key} : $plan->{client}{KEY};
    # new() verifies the key and returns undef when the service says it is invalid.
    my $client = Net::Akismet->new(%{ $plan->{client} }, KEY => $key);
    if (!$client) {
        push @results, { ok => JSON::PP::false, error => 'key verification failed' };
        next;
    }
    my $call = $item->{call};
    my %comment = %{ $item->{comment} || {} };
    my $value;
    if ($call eq 'new') {
        $value = 'valid';
    } elsif ($call eq 'check') {
        $value = $client->check(%comment);
    } elsif ($call eq 'spam') {
        $value = $client->spam(%comment) ? 'submitted' : undef;
    } elsif ($call eq 'ham') {
        $value = $client->ham(%comment) ? 'submitted' : undef;
    } else {
        die "unknown call $call\n";
    }
    push @results, defined $value
        ? { ok => JSON::PP::true, value => $value }
        : { ok => JSON::PP::false, error => 'request failed' };
}
print $json->encode(\@results), "\n";
