<?php
/**
 * Plugin Name: Moderation service as Akismet
 * Description: Sends the Akismet plugin's API calls to a self-hosted moderation service
 *              instead of rest.akismet.com, holds comments the service holds for review, and
 *              keeps the key from every other host.
 * Version:     1.1.0
 * License:     Apache-2.0
 *
 * Install: copy this file to wp-content/mu-plugins/ (must-use plugins load first and cannot
 * be switched off from the admin screens), then in wp-config.php (Debian:
 * /etc/wordpress/config-<host>.php):
 *
 *     define( 'MODERATION_AKISMET_URL', 'https://moderation.example.vn' );
 *
 * and enter the site's Akismet-style key (12 hex digits, `moderation sites add` prints it) in
 * the Akismet plugin's own key form (Settings → Akismet Anti-spam), or define WPCOM_API_KEY.
 * The Akismet plugin itself stays installed and active; only its HTTP requests move.
 *
 * What it does:
 *   1. Every request to rest.akismet.com (by name, or by address with that Host header) goes to
 *      the service instead, unchanged.
 *   2. No other request leaves WordPress with the key in it: a request to any host but the
 *      service that carries the key (address, body or headers) is refused.
 *   3. wp-admin pages are sent without the key in any URL that points elsewhere: Akismet's
 *      statistics frames (tools.akismet.com, which put the key in their address) are replaced
 *      by a link to the service's moderator page, and any other such URL is cut.
 *   4. Akismet has no "hold" answer: a comment the service holds for review (the header
 *      X-Moderation-Status: pending) is held by WordPress too, at posting and when Akismet's
 *      automatic re-check of comments held during an outage gets the answer.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

final class Moderation_Akismet {
	// Akismet's API host; older plugin versions put the key in front of it (<key>.rest.akismet.com).
	const API_HOST_RE = '/(^|\.)rest\.akismet\.com$/i';

	/** @var string X-Moderation-Status of the last comment-check sent from this request. */
	private static $status = '';
	/** True while the answer to a re-check says the service holds the comment. */
	private static $hold_recheck = false;

	public static function boot() {
		if ( ! defined( 'MODERATION_AKISMET_URL' ) ) {
			return;
		}
		add_filter( 'pre_http_request', array( __CLASS__, 'route' ), 10, 3 );
		add_filter( 'pre_comment_approved', array( __CLASS__, 'hold' ), 100, 2 );
		// check_comment() (which Akismet's re-check asks before publishing) holds every comment
		// while "Comment must be manually approved" is on: on for a comment the service holds.
		add_filter( 'pre_option_comment_moderation', array( __CLASS__, 'manual_approval' ) );
		if ( is_admin() ) {
			add_action( 'admin_init', array( __CLASS__, 'scrub_output' ), 0 );
		}
	}

	/** host:port of a URL (the scheme's port when none is written); '' if it has no host. */
	private static function authority( $url ) {
		$parts = wp_parse_url( $url );
		if ( ! is_array( $parts ) || empty( $parts['host'] ) ) {
			return '';
		}
		$port = isset( $parts['port'] ) ? (int) $parts['port'] : ( isset( $parts['scheme'] ) && 'http' === strtolower( $parts['scheme'] ) ? 80 : 443 );
		return strtolower( $parts['host'] ) . ':' . $port;
	}

	private static function service() {
		return self::authority( MODERATION_AKISMET_URL );
	}

	/** The key as Akismet has it (constant, filter or the key form's option). */
	private static function key() {
		if ( class_exists( 'Akismet' ) ) {
			return (string) Akismet::get_api_key();
		}
		return defined( 'WPCOM_API_KEY' ) ? (string) WPCOM_API_KEY : (string) get_option( 'wordpress_api_key' );
	}

	/** True if $text carries the key, as is or URL-encoded (any case: hex keys). */
	private static function carries_key( $text, $key ) {
		if ( '' === $key || ! is_string( $text ) || '' === $text ) {
			return false;
		}
		return false !== stripos( $text, $key ) || false !== stripos( $text, rawurlencode( $key ) );
	}

	public static function route( $preempt, $args, $url ) {
		if ( false !== $preempt ) {
			return $preempt;
		}
		if ( self::authority( $url ) === self::service() ) {
			return $preempt; // forward() re-enters here, with Akismet's Host header still set
		}
		$host   = (string) wp_parse_url( $url, PHP_URL_HOST );
		$header = '';
		if ( isset( $args['headers'] ) && is_array( $args['headers'] ) ) {
			foreach ( $args['headers'] as $name => $value ) {
				if ( 'host' === strtolower( (string) $name ) ) {
					$header = (string) $value;
				}
			}
		}
		// Akismet's connectivity check sends its calls to rest.akismet.com's addresses, naming
		// the host in the Host header only.
		if ( preg_match( self::API_HOST_RE, $host ) || preg_match( self::API_HOST_RE, $header ) ) {
			return self::forward( $args, $url );
		}
		$key  = self::key();
		$body = isset( $args['body'] ) ? ( is_array( $args['body'] ) ? http_build_query( $args['body'] ) : (string) $args['body'] ) : '';
		$head = isset( $args['headers'] ) ? wp_json_encode( $args['headers'] ) : '';
		if ( self::carries_key( $url, $key ) || self::carries_key( $body, $key ) || self::carries_key( $head, $key ) ) {
			return new WP_Error( 'moderation_akismet_key_withheld', 'Refused: this request would carry the Akismet key to ' . $host . ', which is not the moderation service.' );
		}
		return $preempt;
	}

	private static function forward( $args, $url ) {
		$path   = (string) wp_parse_url( $url, PHP_URL_PATH );
		$query  = wp_parse_url( $url, PHP_URL_QUERY );
		$target = untrailingslashit( MODERATION_AKISMET_URL ) . $path . ( $query ? '?' . $query : '' );
		$response = wp_remote_request( $target, $args );
		if ( '/1.1/comment-check' === $path ) {
			$status       = is_wp_error( $response ) ? '' : (string) wp_remote_retrieve_header( $response, 'x-moderation-status' );
			self::$status = $status;
			// A re-check (Akismet's automatic retry, "Check for Spam") answered "false" for a
			// comment the service holds: Akismet would publish it next (check_comment()).
			$body               = isset( $args['body'] ) ? $args['body'] : '';
			$fields             = is_array( $body ) ? $body : wp_parse_args( (string) $body );
			self::$hold_recheck = 'pending' === $status && ! empty( $fields['recheck_reason'] );
		}
		return $response;
	}

	/** Akismet checks in `preprocess_comment`, before WordPress sets the status: hold it here. */
	public static function hold( $approved, $commentdata ) {
		$status       = self::$status;
		self::$status = '';
		if ( 'pending' === $status && ( 1 === $approved || '1' === $approved ) ) {
			return 0;
		}
		return $approved;
	}

	public static function manual_approval( $value ) {
		return self::$hold_recheck ? '1' : $value;
	}

	// ------------------------------------------------------------------ wp-admin pages

	public static function scrub_output() {
		// Pages, not the JSON of admin-ajax (no URL of another host there).
		if ( '' !== self::key() && ! wp_doing_ajax() ) {
			ob_start( array( __CLASS__, 'scrub' ) );
		}
	}

	/**
	 * The page as sent to the browser: no URL carries the key to a host but the service.
	 * Akismet's statistics frames become a link to the service; any other URL with the key
	 * (in an attribute or in a script) is replaced by about:blank.
	 */
	public static function scrub( $html ) {
		$key = self::key();
		if ( ! is_string( $html ) || ! self::carries_key( $html, $key ) ) {
			return $html;
		}
		$link = esc_url( untrailingslashit( MODERATION_AKISMET_URL ) . '/moderate' );
		$html = preg_replace(
			'#<iframe\b[^>]*\btools\.akismet\.com[^>]*>.*?</iframe>#is',
			'<p class="moderation-akismet-stats">Statistics from akismet.com are not shown: they would send this site\'s key there. '
				. 'The moderation service\'s moderator page has its own: <a href="' . $link . '">' . $link . '</a></p>',
			$html
		);
		$service = self::service();
		$scrub   = function ( $m ) use ( $key, $service ) {
			$url = str_replace( '\\/', '/', html_entity_decode( $m[0], ENT_QUOTES | ENT_HTML5 ) );
			if ( 0 === strpos( $url, '//' ) ) {
				$url = 'https:' . $url;
			}
			return ( self::authority( $url ) === $service || ! self::carries_key( $url, $key ) ) ? $m[0] : 'about:blank';
		};
		// Absolute URLs anywhere (attributes, inline scripts, JSON with escaped slashes) …
		$html = preg_replace_callback( '#(?:https?:)?(?:\\\\?/){2}[^\s"\'<>()]+#i', $scrub, $html );
		// … and relative ones in URL attributes (they point at this WordPress, not the service).
		return preg_replace_callback(
			'#\b(?:src|href|action|data|poster|srcset|formaction|background|ping)\s*=\s*("[^"]*"|\'[^\']*\')#i',
			function ( $m ) use ( $key, $service ) {
				$value = html_entity_decode( substr( $m[1], 1, -1 ), ENT_QUOTES | ENT_HTML5 );
				if ( self::authority( $value ) === $service || ! self::carries_key( $value, $key ) ) {
					return $m[0];
				}
				return substr( $m[0], 0, strlen( $m[0] ) - strlen( $m[1] ) ) . '"about:blank"';
			},
			$html
		);
	}
}

Moderation_Akismet::boot();
